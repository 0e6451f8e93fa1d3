import type { ExecutionResult } from '../../model/execution.js';
import type { LedgerEntry } from '../../routing/cost-ledger.js';
import { fromNanos, toNanos } from '../../routing/model-registry.js';
import type { RouteChoice } from '../../routing/router.js';
import type { Routing } from '../../routing/routing.js';
import type { ShareUsage } from './events.js';
import type { RoleCallRequest } from './types.js';

export interface ShareLedger {
  /** Records one runner result; the entry, or undefined for a replayed answer (recorded when first made). */
  record(result: ExecutionResult, tryIndex: number): LedgerEntry | undefined;
  /** Resolves once every entry is durable; rejects with the first write that failed. */
  flush(): Promise<void>;
  usage(): ShareUsage;
}

/**
 * Every runner call of one model's share, in the cost ledger: counted at once (budgets see it),
 * durable before the result moves the machine and its budget checks (see `flush`).
 */
export function shareLedger(routing: Routing, request: RoleCallRequest<unknown>, decision: RouteChoice): ShareLedger {
  let tokensIn = 0;
  let tokensOut = 0;
  let nanos = 0;
  let estimatedNanos = 0;
  let estimated = false;
  let replays = 0;
  let writeError: Error | undefined;
  const writes: Promise<void>[] = [];
  return {
    record(result, tryIndex) {
      if (result.replayed === true) {
        // Paid and recorded when it was first made; only its tokens count for this share's event.
        tokensIn += result.tokens_input;
        tokensOut += result.tokens_output;
        replays++;
        return undefined;
      }
      const { entry, stored } = routing.ledger.record({
        taskId: request.taskId,
        stepId: request.stepId,
        role: request.role,
        attempt: request.attempt,
        try: tryIndex,
        modelName: decision.name,
        risk: decision.risk,
        area: decision.area,
        result,
      });
      writes.push(stored.catch((error: unknown) => void (writeError ??= error instanceof Error ? error : new Error(String(error)))));
      tokensIn += result.tokens_input;
      tokensOut += result.tokens_output;
      nanos += toNanos(entry.usd);
      if (result.tokens_estimated) estimatedNanos += toNanos(entry.usd);
      estimated ||= result.tokens_estimated;
      return entry;
    },
    async flush() {
      await Promise.all(writes);
      if (writeError !== undefined) throw writeError;
    },
    usage: () => ({ tokensIn, tokensOut, estimated, nanos, estimatedNanos, usd: fromNanos(nanos), replays }),
  };
}

/** What a whole role call cost, over every model its fallback chain tried. */
export function callCost(): { add(usage: ShareUsage): void; readonly usd: () => { costUsd: number; estimatedUsd: number } } {
  let spentNanos = 0;
  let estimatedNanos = 0;
  return {
    add(usage) {
      spentNanos += usage.nanos;
      estimatedNanos += usage.estimatedNanos;
    },
    usd: () => ({ costUsd: fromNanos(spentNanos), estimatedUsd: fromNanos(estimatedNanos) }),
  };
}
