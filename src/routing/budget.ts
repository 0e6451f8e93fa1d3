import { formatUsd } from '../platform/format.js';
import type { RoutedRole } from './config-schema.js';

/**
 * Budgets per task, per UTC day and per UTC month (DESIGN §6). Before a call the router asks
 * whether what was spent plus what the call is expected to cost fits every budget; a person's
 * `--raise-budget` grant adds to each limit for that task.
 */

/** What an answer usually needs; a coding CLI's own tool turns are not known before the call. */
const expectedOutputTokens: Readonly<Record<RoutedRole, number>> = {
  planner: 2_000,
  'plan-reviewer': 1_000,
  implementer: 4_000,
  'code-reviewer': 1_000,
  validator: 500,
};

/** The usual four characters per token, for a prompt not yet sent. */
export function estimateCallTokens(role: RoutedRole, promptChars: number): { input: number; output: number } {
  return { input: Math.ceil(promptChars / 4), output: expectedOutputTokens[role] };
}

type BudgetScope = 'task' | 'day' | 'month';

export interface BudgetLimits {
  readonly task?: number | undefined;
  readonly day?: number | undefined;
  readonly month?: number | undefined;
}

export interface Spend {
  readonly task: number;
  readonly day: number;
  readonly month: number;
}

export type BudgetCheck =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly scope: BudgetScope;
      readonly limitUsd: number;
      readonly spentUsd: number;
      readonly estimateUsd: number;
      readonly grantUsd: number;
    };

const scopes: readonly BudgetScope[] = ['task', 'day', 'month'];

export function checkBudget(limits: BudgetLimits, spend: Spend, estimateUsd: number, grantUsd = 0): BudgetCheck {
  for (const scope of scopes) {
    const limit = limits[scope];
    if (limit === undefined) continue;
    // Compared in nano-dollars, so a budget spent to the cent is not "exceeded" by rounding.
    if (Math.round((spend[scope] + estimateUsd) * 1e9) > Math.round((limit + grantUsd) * 1e9)) {
      return { ok: false, scope, limitUsd: limit, spentUsd: spend[scope], estimateUsd, grantUsd };
    }
  }
  return { ok: true };
}

export function describeBudgetStop(check: Exclude<BudgetCheck, { ok: true }>): string {
  const name = check.scope === 'task' ? 'the task budget' : `the ${check.scope === 'day' ? 'daily' : 'monthly'} budget`;
  const grant = check.grantUsd > 0 ? ` (+ ${formatUsd(check.grantUsd)} raised by a person)` : '';
  return `${name} of ${formatUsd(check.limitUsd)}${grant} would be exceeded: ${formatUsd(check.spentUsd)} spent + ${formatUsd(check.estimateUsd)} estimated for this call`;
}

export function startOfUtcDay(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}

export function startOfUtcMonth(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}
