import type { Clock } from '../../platform/clock.js';
import type { RoleFailureKind, RoleResult } from '../../model/role-contracts.js';
import { applyRetryPolicy, type RetryPolicy } from '../retry-policy.js';
import type { FallbackHop } from './route.js';
import type { RoleFailure } from './types.js';

/** How one hop (one model's share of the call) ended. */
export type HopOutcome<T> =
  /** An answer, or a failure no other model is asked about. */
  | { readonly kind: 'done'; readonly result: RoleResult<T> }
  /** The router found no model: the chain ends here. */
  | { readonly kind: 'refused'; readonly failure: RoleFailure }
  /** The model failed; `name` is its registry name (a model outside the registry has no chain). */
  | { readonly kind: 'failed'; readonly failure: RoleFailure; readonly key: string; readonly name?: string | undefined };

/**
 * Passes a call down the failed model's fallback chain (seed 000: Flash → Haiku) while the
 * failure is one another model may not share, under the `fallback` policy. Each hop tries a model
 * not tried before, so the chain cannot loop; a chain that runs out, or ends in a refusal, leaves
 * the last model's failure (a rate limit pauses the task).
 */
export async function withFallback<T>(
  policy: RetryPolicy<RoleFailureKind>,
  context: { readonly clock: Clock; readonly signal: AbortSignal; readonly random: () => number },
  hop: (at: FallbackHop) => Promise<HopOutcome<T>>,
): Promise<RoleResult<T>> {
  const tried: string[] = [];
  let fallbackFrom: FallbackHop['fallbackFrom'];
  let lastFailure: RoleFailure | undefined;
  for (let attempt = 1; ; attempt++) {
    const outcome = await hop({ fallbackFrom, tried });
    if (outcome.kind === 'done') return outcome.result;
    if (outcome.kind === 'refused') return lastFailure ?? outcome.failure;
    const { failure } = outcome;
    if (outcome.name === undefined || context.signal.aborted) return failure;
    if ((await applyRetryPolicy(policy, { attempt, kind: failure.kind }, context)) !== 'retry') return failure;
    tried.push(outcome.key);
    fallbackFrom = { name: outcome.name, reason: `${failure.kind}: ${failure.error}` };
    lastFailure = failure;
  }
}
