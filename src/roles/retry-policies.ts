import { ErrorKindSchema, retryableErrorKinds, type ErrorKind } from '../model/execution.js';
import { RATE_LIMIT_WAIT_MS, type Limits } from '../model/limits.js';
import type { RoleFailureKind } from '../model/role-contracts.js';
import { retryDelay, type RetryPolicy } from './retry-policy.js';

/**
 * Every layer of a role call that tries again, one policy each (DESIGN §4, §6); the defaults are
 * the limits' settings, as they were before the policies were data:
 *
 * | layer        | tries again after                      | attempts in all            | wait before a retry                                  |
 * | ------------ | -------------------------------------- | -------------------------- | ---------------------------------------------------- |
 * | transient    | timeout, overloaded, crashed           | max_transient_retries + 1  | retry_base_delay_ms × 2^n, ≤ 2^10 × base, equal jitter |
 * |              |                                        | (1 on a fallback model)    |                                                      |
 * | outputRepair | output that fails its schema           | max_output_repairs + 1     | none: the error is fed back at once                  |
 * | fallback     | rate_limit, timeout, overloaded,       | registered models + 1      | none: the next model of the chain is asked           |
 * |              | crashed, auth, unavailable             |                            |                                                      |
 * | rateLimit    | rate_limit (the task pauses)           | unbounded (max_pause_ms    | the backend's reset or retry-after when it named     |
 * |              |                                        | and the time limit bound)  | one, else 30 s × 2^n per consecutive rate limit of   |
 * |              |                                        |                            | the task on the model, ≤ 5 min (rate-limit-pauses.ts) |
 *
 * Transient retries and repairs share one model's tries (run-with-retry.ts); the fallback moves
 * the call to another model (fallback.ts). The supervisor machine owns the outer layer, attempts
 * per step and plan round (`max_attempts`) and rate-limit pauses: those move it between states,
 * so they stay with it (src/machines).
 */
export interface RolePolicies {
  readonly transient: RetryPolicy<ErrorKind>;
  readonly outputRepair: RetryPolicy<'bad_output'>;
  readonly fallback: RetryPolicy<RoleFailureKind>;
  /** How long a task pauses after a rate limit without a reset time (the machine does the waiting). */
  readonly rateLimit: RetryPolicy<'rate_limit'>;
}

/** The pauses of the rateLimit layer: 30 s, 1 min, 2 min, 4 min, then 5 min for every further one. */
const rateLimitPauses: RetryPolicy<'rate_limit'> = {
  initialIntervalMs: RATE_LIMIT_WAIT_MS,
  backoffCoefficient: 2,
  maximumIntervalMs: 5 * 60_000,
  maximumAttempts: Number.POSITIVE_INFINITY,
  nonRetryableKinds: [],
};

export type RetryLimits = Pick<Limits, 'max_output_repairs' | 'max_transient_retries' | 'retry_base_delay_ms'>;

/** The retries within one model's share of a call (see run-with-retry.ts). */
export type TryPolicies = Pick<RolePolicies, 'transient' | 'outputRepair'>;

/** Today's cap on exponential growth: the 11th retry waits no longer than the 10th. */
const BACKOFF_CAP_EXPONENT = 10;

/**
 * Failures another model may not share; the rest (bad output, a refused edit, no progress, a
 * cancellation, a budget stop) would follow the call to any model (seed 000: Flash → Haiku).
 */
const fallbackKinds: ReadonlySet<RoleFailureKind> = new Set(['rate_limit', 'timeout', 'overloaded', 'crashed', 'auth', 'unavailable']);

/** The transient layer: exponential backoff from `baseMs`, with equal jitter (see RetryPolicy). */
function transientPolicy(baseMs: number, retries: number): RetryPolicy<ErrorKind> {
  return {
    initialIntervalMs: baseMs,
    backoffCoefficient: 2,
    maximumIntervalMs: baseMs * 2 ** BACKOFF_CAP_EXPONENT,
    maximumAttempts: retries + 1,
    // Rate limits are not retried here: the supervisor pauses the task instead of burning tries.
    nonRetryableKinds: ErrorKindSchema.options.filter((kind) => !retryableErrorKinds.has(kind)),
    jitter: 'equal',
  };
}

/** The wait before transient retry number `retry` (0-based) with base `baseMs`. */
export function backoffDelay(retry: number, baseMs: number, random: () => number): number {
  return retryDelay(transientPolicy(baseMs, retry + 1), retry, random);
}

export function tryPolicies(limits: RetryLimits): TryPolicies {
  return {
    transient: transientPolicy(limits.retry_base_delay_ms, limits.max_transient_retries),
    // A repair is a new question (the validation error fed back), not a wait for a backend to recover.
    outputRepair: { initialIntervalMs: 0, backoffCoefficient: 1, maximumAttempts: limits.max_output_repairs + 1, nonRetryableKinds: [] },
  };
}

/** `models`: how many models the registry holds; each fallback tries one not tried before, so they bound the chain. */
export function rolePolicies(limits: RetryLimits, models: number): RolePolicies {
  return {
    ...tryPolicies(limits),
    fallback: {
      initialIntervalMs: 0,
      backoffCoefficient: 1,
      maximumAttempts: models + 1,
      nonRetryableKinds: [...ErrorKindSchema.options, 'budget' as const].filter((kind) => !fallbackKinds.has(kind)),
    },
    rateLimit: rateLimitPauses,
  };
}
