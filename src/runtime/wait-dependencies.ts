import { subject } from '../bus/subjects.js';
import type { Bus } from '../bus/bus.js';
import type { TaskState } from '../model/task-events.js';
import type { Clock } from '../platform/clock.js';

/** Ready when every dependency is DONE; blocked when one cannot get there without a person. */
export type DependencyCheck =
  | { readonly ready: true }
  | { readonly ready: false; readonly reason: string; readonly blockedBy: readonly string[] }
  | { readonly ready: false; readonly stopped: true };

interface WaitDeps {
  readonly bus: Bus;
  /** The dependency's stored state, or undefined when the store has no such task. */
  readonly state: (taskId: string) => Promise<TaskState | undefined>;
  /** Why a task of this runtime is itself blocked (its dependents are blocked behind it). */
  readonly blockedReason: (taskId: string) => string | undefined;
  readonly signal: AbortSignal;
  readonly clock: Clock;
  /** Re-read the store this often too: a dependency driven by another process may publish on another bus. */
  readonly pollMs: number;
}

const settledWithoutDone: ReadonlySet<TaskState> = new Set(['FAILED', 'ABORTED', 'AWAITING_HUMAN_REVIEW']);

function describe(id: string, state: TaskState | undefined, blocked: string | undefined): string | undefined {
  if (state === undefined) return `${id} is not in the state dir`;
  if (state === 'AWAITING_HUMAN_REVIEW') return `${id} waits for a person`;
  if (settledWithoutDone.has(state)) return `${id} is ${state}`;
  if (state === 'NEW' && blocked !== undefined) return `${id} waits too (${blocked})`;
  return undefined;
}

/**
 * Waits until the task's dependencies are DONE (seed 002 phase 4). A dependency that failed, was
 * aborted, waits for a person, or is itself blocked leaves the task waiting with that reason (it is
 * not failed: `tandem resume` starts it once the dependency is DONE). Wakes on the dependencies'
 * lifecycle events and, as a backstop, every `pollMs`.
 */
export async function waitForDependencies(ids: readonly string[], deps: WaitDeps): Promise<DependencyCheck> {
  let wake: () => void = () => undefined;
  const subscription = deps.bus.subscribe(subject({ kind: 'events.all' }), (message) => {
    if ((message.type === 'task.state' || message.type === 'task.finished') && ids.includes(message.taskId)) wake();
  });
  const onAbort = (): void => wake();
  deps.signal.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      if (deps.signal.aborted) return { ready: false, stopped: true };
      // Armed before reading, so an event that lands while the store is read still wakes the next wait.
      const round = new AbortController();
      wake = () => round.abort();
      const states = await Promise.all(ids.map(async (id) => [id, await deps.state(id)] as const));
      if (states.every(([, state]) => state === 'DONE')) return { ready: true };
      const problems = states.flatMap(([id, state]) => {
        const problem = describe(id, state, deps.blockedReason(id));
        return problem === undefined ? [] : [{ id, problem }];
      });
      if (problems.length > 0) {
        return { ready: false, reason: `waits for its dependencies: ${problems.map((p) => p.problem).join('; ')}`, blockedBy: problems.map((p) => p.id) };
      }
      await deps.clock.sleep(deps.pollMs, round.signal).catch(() => undefined);
    }
  } finally {
    subscription.unsubscribe();
    deps.signal.removeEventListener('abort', onAbort);
  }
}
