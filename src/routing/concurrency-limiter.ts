/**
 * Calls in flight per model, shared by every task of the process (DESIGN §6): a backend's own
 * concurrency limit is met by queueing here, first come first served, instead of by rate-limit
 * errors. A waiter whose signal aborts leaves the queue.
 */
export interface ConcurrencyLimiter {
  /** Resolves with a release function once a slot of `key` is free; rejects when `signal` aborts first. */
  acquire(key: string, signal: AbortSignal): Promise<() => void>;
  inFlight(key: string): number;
  waiting(key: string): number;
}

interface Lane {
  active: number;
  readonly queue: (() => void)[];
}

export function createConcurrencyLimiter(limitOf: (key: string) => number): ConcurrencyLimiter {
  const lanes = new Map<string, Lane>();
  const laneOf = (key: string): Lane => {
    let lane = lanes.get(key);
    if (!lane) lanes.set(key, (lane = { active: 0, queue: [] }));
    return lane;
  };
  const releaser = (key: string, lane: Lane): (() => void) => {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = lane.queue.shift();
      if (next) next();
      else lane.active--;
      if (lane.active === 0 && lane.queue.length === 0) lanes.delete(key);
    };
  };
  return {
    acquire(key, signal) {
      const lane = laneOf(key);
      const limit = Math.max(1, limitOf(key));
      if (signal.aborted) return Promise.reject(signal.reason as Error);
      if (lane.active < limit) {
        lane.active++;
        return Promise.resolve(releaser(key, lane));
      }
      return new Promise((resolve, reject) => {
        // The slot passes straight from the releasing call to this waiter; `active` stays the same.
        const grant = (): void => {
          signal.removeEventListener('abort', onAbort);
          resolve(releaser(key, lane));
        };
        const onAbort = (): void => {
          const at = lane.queue.indexOf(grant);
          if (at >= 0) lane.queue.splice(at, 1);
          reject(signal.reason as Error);
        };
        lane.queue.push(grant);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    },
    inFlight: (key) => lanes.get(key)?.active ?? 0,
    waiting: (key) => lanes.get(key)?.queue.length ?? 0,
  };
}
