import { retryDelay, type RetryPolicy } from '../retry-policy.js';

/** Pairs remembered at most; the oldest is forgotten first (a task that ended while rate limited leaves one behind). */
const MAX_REMEMBERED = 1_000;

export interface RateLimitPauses {
  /**
   * The pause after a rate limit of `taskId` on `model`: the wait the backend named (a reset time or a
   * retry-after the CLI printed) when there is one, else the policy's next step for this pair.
   */
  next(taskId: string, model: string, namedWaitMs: number | undefined): number;
  /** The model answered the task: its next rate limit starts the steps again. */
  answered(taskId: string, model: string): void;
}

/**
 * Consecutive rate limits per task and model, so that a limit that keeps coming back waits longer each
 * time (30 s, 1, 2, 4, 5 min) rather than asking again every minute. Pure bookkeeping: the supervisor
 * waits on its injected clock until the time the pipeline dates the retry with.
 */
export function rateLimitPauses(policy: RetryPolicy<'rate_limit'>, random: () => number): RateLimitPauses {
  const consecutive = new Map<string, number>();
  const keyOf = (taskId: string, model: string): string => `${taskId}\u0000${model}`;
  return {
    next(taskId, model, namedWaitMs) {
      const key = keyOf(taskId, model);
      const before = consecutive.get(key) ?? 0;
      consecutive.delete(key);
      consecutive.set(key, before + 1);
      if (consecutive.size > MAX_REMEMBERED) consecutive.delete(consecutive.keys().next().value as string);
      return namedWaitMs ?? retryDelay(policy, before, random);
    },
    answered(taskId, model) {
      consecutive.delete(keyOf(taskId, model));
    },
  };
}
