import type { TaskSpec } from '../../model/task-spec.js';
import { findingPlace, ValidationSchema, type Plan, type StepFindings } from '../../model/role-outputs.js';
import { answerFormat, clip, taskSection } from './common.js';

/**
 * Seeds 000/001's validation prompt grown to a branch: the task (goal, constraints, success
 * criteria), the plan that was carried out, and what it delivered (the whole diff since the base,
 * the findings of report steps), answered as `{pass, issues (≤ 3), confidence, escalate}`.
 */
export function validatorPrompt(input: { task: TaskSpec; plan: Plan; patch: string; findings: readonly StepFindings[] }): string {
  const findings = input.findings.flatMap(({ stepId, report }) => [
    `### ${stepId}: ${report.summary}`,
    ...report.findings.map((f) => `- [${f.severity}] ${findingPlace(f) ?? ''} ${f.description}`.replace(/\s+/g, ' ')),
    ...report.recommendations.map((r) => `- recommends: ${r}`),
  ]);
  return [
    'You are the VALIDATOR. Other models planned, implemented and reviewed the work below, step by step. Check',
    'the WHOLE result against the task: does it reach the goal, respect every constraint and meet every success',
    'criterion? Answer "pass": true only if it does. List at most 3 issues, the most important first, each concrete',
    'enough to fix. "confidence" (0 to 1) is how sure you are of your verdict. Set "escalate": true only when a',
    'person must decide (the task is ambiguous, or the work cannot be judged from here). Do not edit any file.',
    '',
    taskSection(input.task),
    '',
    '## The plan that was carried out',
    ...input.plan.steps.map((s) => `- ${s.id} (${s.type}): ${s.description}`),
    ...(findings.length > 0 ? ['', '## Findings the work delivered', ...findings] : []),
    '',
    '## Diff of the branch since its base',
    input.patch.trim() === '' ? '(no change to the repository)' : ['```diff', clip(input.patch, 80_000), '```'].join('\n'),
    '',
    answerFormat(ValidationSchema),
  ].join('\n');
}
