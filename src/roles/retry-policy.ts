import type { Clock } from '../platform/clock.js';

/**
 * A retry policy as data, in the shape of Temporal's RetryPolicy, so every layer that retries
 * (see retry-policies.ts) states its limits in one place and one function applies them all.
 */
export interface RetryPolicy<K extends string = string> {
  /** Wait before the first retry. */
  readonly initialIntervalMs: number;
  /** Each further retry waits this many times longer (1: a constant wait). */
  readonly backoffCoefficient: number;
  /** No wait grows beyond this; absent: no cap. */
  readonly maximumIntervalMs?: number | undefined;
  /** Attempts in all, the first included: 1 never retries. */
  readonly maximumAttempts: number;
  /** Failures no retry of this layer can cure: they stop at once. */
  readonly nonRetryableKinds: readonly K[];
  /**
   * `equal` (AWS "equal jitter"): half of each wait is fixed, so a retry never comes at once, the
   * other half random, so the retries of many tasks spread out. Such a layer always waits on the
   * clock, even 0 ms, and draws one random number per retry. Absent: the wait is exact, and a
   * zero wait is no wait at all (an immediate retry).
   */
  readonly jitter?: 'equal' | undefined;
}

export type RetryVerdict =
  | { readonly retry: true; readonly delayMs: number }
  | { readonly retry: false; readonly reason: 'non_retryable' | 'attempts_exhausted' };

/** Exponents beyond this cannot change a capped wait; bounding them keeps the numbers finite. */
const MAX_EXPONENT = 10;

/**
 * The wait before retry number `retry` (0-based: 0 is the wait after the first attempt failed).
 * Calls `random` only for a policy with jitter.
 */
export function retryDelay(policy: RetryPolicy, retry: number, random: () => number): number {
  const grown = policy.initialIntervalMs * policy.backoffCoefficient ** Math.min(retry, MAX_EXPONENT);
  const interval = policy.maximumIntervalMs === undefined ? grown : Math.min(grown, policy.maximumIntervalMs);
  if (policy.jitter !== 'equal') return interval;
  return Math.round(interval / 2 + (random() * interval) / 2);
}

/**
 * Whether attempt number `attempt` (1-based, the one that just failed with `kind`) is retried, and
 * after how long. Pure: the decision only; `applyRetryPolicy` also waits.
 */
export function nextRetry<K extends string>(
  policy: RetryPolicy<K>,
  failure: { readonly attempt: number; readonly kind: K },
  random: () => number,
): RetryVerdict {
  if (policy.nonRetryableKinds.includes(failure.kind)) return { retry: false, reason: 'non_retryable' };
  if (failure.attempt >= policy.maximumAttempts) return { retry: false, reason: 'attempts_exhausted' };
  return { retry: true, delayMs: retryDelay(policy, failure.attempt - 1, random) };
}

/**
 * Applies a policy to a failed attempt: decides, then waits on the injected clock (so tests never
 * wait). `retry` means: make the next attempt now; `stop`: the failure stands; `cancelled`: the
 * signal aborted during the wait.
 */
export async function applyRetryPolicy<K extends string>(
  policy: RetryPolicy<K>,
  failure: { readonly attempt: number; readonly kind: K },
  context: { readonly clock: Clock; readonly signal: AbortSignal; readonly random: () => number },
): Promise<'retry' | 'stop' | 'cancelled'> {
  const verdict = nextRetry(policy, failure, context.random);
  if (!verdict.retry) return 'stop';
  if (verdict.delayMs <= 0 && policy.jitter !== 'equal') return 'retry';
  try {
    await context.clock.sleep(verdict.delayMs, context.signal);
  } catch {
    return 'cancelled';
  }
  return 'retry';
}

/** The same policy with its retries taken away: one attempt. */
export function withoutRetries<K extends string>(policy: RetryPolicy<K>): RetryPolicy<K> {
  return { ...policy, maximumAttempts: 1 };
}
