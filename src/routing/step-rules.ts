import type { PlanStep } from '../model/role-outputs.js';
import type { Area, Risk } from '../model/task-spec.js';
import type { RoutedRole } from './config-schema.js';

/**
 * Seed 002 §2.3 `choose_implementer`, as the `seed002` preset applies it to an implementer's step: a
 * high-risk or large step goes to the strongest tier (high risk); otherwise a docs or comments step,
 * or a simple refactor (trivial or small), goes to the cheapest (low risk, the docs area). The matrix
 * then names the model; `route --explain` shows the rule.
 */
export function seed002StepRule(
  role: RoutedRole,
  step: Pick<PlanStep, 'type' | 'estimated_complexity'>,
  risk: Risk,
): { readonly risk: Risk; readonly area?: Area; readonly why: string } | undefined {
  if (role !== 'implementer' || risk === 'high') return undefined;
  if (step.estimated_complexity === 'large') return { risk: 'high', why: 'seed 002 step rule: a large step goes to the strongest tier' };
  const simpleRefactor = step.type === 'refactor' && (step.estimated_complexity === 'trivial' || step.estimated_complexity === 'small');
  if (step.type === 'docs' || simpleRefactor)
    return { risk: 'low', area: 'docs', why: `seed 002 step rule: ${simpleRefactor ? 'a simple refactor' : 'a docs step'} goes to the cheapest tier` };
  return undefined;
}
