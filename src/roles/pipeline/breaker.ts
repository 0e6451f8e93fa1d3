import type { ExecutionResult } from '../../model/execution.js';
import type { CircuitBreaker } from '../../routing/circuit-breaker.js';

export interface ModelWatch {
  /** The call may start now (it has its concurrency slot); a half-open circuit makes it the trial. */
  begin(): void;
  /** One runner result: what it says about the model's health. */
  record(result: ExecutionResult): void;
  /** The call ended without a result that says anything about the model. */
  abandon(): void;
}

/** The model's circuit breaker, fed by every try of one model's share of a call. */
export function watchModel(breaker: CircuitBreaker, key: string): ModelWatch {
  return {
    begin: () => breaker.begin(key),
    record(result) {
      // A replayed answer was judged when it was first made; a cancelled call was never answered.
      if (result.replayed === true || result.error_kind === 'cancelled') breaker.abandon(key);
      else breaker.record(key, { success: result.success, kind: result.error_kind, retryAfterMs: result.retry_after_ms });
    },
    abandon: () => breaker.abandon(key),
  };
}
