import type { Clock } from '../platform/clock.js';
import { StoreError } from '../platform/errors.js';

/**
 * Runs `op` again while the store or queue is unavailable (NATS restarting), with growing waits,
 * for at most `limitMs`: a short outage delays work but does not fail it. `op` learns whether it is
 * a retry, because a timed-out write may still have landed.
 */
export async function untilAvailable<T>(op: (retrying: boolean) => Promise<T>, clock: Clock, limitMs: number, signal?: AbortSignal): Promise<T> {
  const deadline = clock.now() + limitMs;
  let retrying = false;
  for (let wait = 100; ; wait = Math.min(wait * 2, 2_000)) {
    try {
      return await op(retrying);
    } catch (error) {
      if (!(error instanceof StoreError && error.code === 'unavailable') || clock.now() + wait > deadline) throw error;
    }
    retrying = true;
    await clock.sleep(wait, signal);
  }
}
