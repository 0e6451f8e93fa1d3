import type { RouteChoice } from '../../routing/router.js';
import type { Routing } from '../../routing/routing.js';
import type { RoleCallRequest } from './types.js';

export interface BudgetHold {
  /**
   * Before a paid try after the first (a repair or a transient retry): holds that try's estimate,
   * or says why it would exceed a budget (the call then stops as `budget`).
   */
  beforeRetry(prompt: string): string | undefined;
  /** The try ended and the ledger has (or will have) its real cost: stop holding its estimate. */
  release(): void;
}

/**
 * The call's estimate counts against the budgets while it runs, so parallel tasks cannot all pass
 * a daily budget at once; each recorded try replaces it with the real cost.
 */
export function holdBudget(routing: Routing, request: RoleCallRequest<unknown>, decision: RouteChoice): BudgetHold {
  let hold: { release(): void } | undefined = routing.ledger.reserve(request.taskId, decision.estimateUsd);
  return {
    beforeRetry(prompt) {
      const fits = routing.router.retryFits({
        role: request.role,
        task: request.task,
        key: decision.key,
        promptChars: prompt.length,
        budgetGrantUsd: request.budgetGrantUsd,
      });
      if (!fits.ok) return fits.reason;
      hold = routing.ledger.reserve(request.taskId, fits.estimateUsd);
      return undefined;
    },
    release() {
      hold?.release();
      hold = undefined;
    },
  };
}
