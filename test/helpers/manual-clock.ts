import type { Clock } from '../../src/platform/clock.js';

export interface ManualClock extends Clock {
  /** Moves time forward and wakes every sleeper whose time has come. */
  advance(ms: number): void;
  /** Sleepers not yet woken. */
  pending(): number;
  /** Every `sleep` duration asked for, in order. */
  readonly sleeps: number[];
}

/** A clock that only moves when told to, so delays, backoff and pauses are tested without waiting. */
export function manualClock(start = 1_000): ManualClock {
  let now = start;
  const timers = new Set<{ at: number; resolve: () => void }>();
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: (ms, signal) =>
      new Promise<void>((resolve, reject) => {
        sleeps.push(ms);
        if (signal?.aborted) {
          reject(signal.reason as Error);
          return;
        }
        const timer = { at: now + ms, resolve };
        timers.add(timer);
        signal?.addEventListener(
          'abort',
          () => {
            timers.delete(timer);
            reject(signal.reason as Error);
          },
          { once: true },
        );
      }),
    advance(ms) {
      now += ms;
      for (const timer of [...timers]) {
        if (timer.at <= now) {
          timers.delete(timer);
          timer.resolve();
        }
      }
    },
    pending: () => timers.size,
  };
}
