import type { ActorOptions, AnyActorLogic } from 'xstate';
import type { Clock } from '../platform/clock.js';

/**
 * XState's clock (`setTimeout`/`clearTimeout`, the `clock` option of `createActor`) over the
 * injected Clock port, so the machine's delayed transitions (the task's time limit) run on the same
 * time as everything else: tests move it with a manual clock instead of waiting.
 */
type MachineClock = NonNullable<ActorOptions<AnyActorLogic>['clock']>;

export function machineClock(clock: Clock): MachineClock {
  return {
    setTimeout(fn: () => void, timeout: number): AbortController {
      const timer = new AbortController();
      clock.sleep(Math.max(0, timeout), timer.signal).then(fn, () => undefined);
      return timer;
    },
    clearTimeout(timer: unknown): void {
      (timer as AbortController).abort();
    },
  };
}
