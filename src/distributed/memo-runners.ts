import { AsyncLocalStorage } from 'node:async_hooks';
import { ExecutionResultSchema, type ExecutionResult } from '../model/execution.js';
import type { AgentRunner } from '../runners/agent-runner.js';
import type { Store } from '../store/store.js';

/** The role call a runner call belongs to, and how many runner calls it made so far. */
interface CallScope {
  readonly key: string;
  next: number;
  replayed: number;
}

function memoKey(callKey: string, index: number): string {
  return `memo.${callKey}.${index}`;
}

export interface MemoRunners {
  readonly runners: ReadonlyMap<string, AgentRunner>;
  /** Runs `fn` as role call `key`: its runner calls answer from the store when made before. */
  within<T>(key: string, fn: () => Promise<T>): Promise<T>;
  /** Whether call `key` has a stored answer of its first runner call: its model answered before. */
  answeredBefore(key: string): Promise<boolean>;
}

/**
 * "No completed model call is paid twice", even when a role service dies between the model's
 * answer and storing the role call's result: every runner answer is stored (by role call and
 * ordinal) before the caller sees it, and the same call run again gets the stored answers back,
 * marked `replayed`, instead of asking the model. The ordinal is deterministic because a role
 * call's runner calls follow from the answers, which are the same.
 */
export function memoRunners(inner: ReadonlyMap<string, AgentRunner>, deps: { store: Store }): MemoRunners {
  const scope = new AsyncLocalStorage<CallScope>();
  const wrap = (runner: AgentRunner): AgentRunner => ({
    name: runner.name,
    simulated: runner.simulated,
    async run(request, options) {
      const call = scope.getStore();
      if (call === undefined) return runner.run(request, options);
      const key = memoKey(call.key, call.next++);
      const stored = await deps.store.get(key);
      const parsed = stored === undefined ? undefined : ExecutionResultSchema.safeParse(stored.value);
      if (parsed?.success === true) {
        call.replayed++;
        return { ...parsed.data, replayed: true };
      }
      const result: ExecutionResult = await runner.run(request, options);
      // A cancelled call was not answered; asking again is right.
      // The store given is patient in deployment, so a NATS restart delays this write, not loses it.
      if (result.error_kind !== 'cancelled') await deps.store.put(key, result);
      return result;
    },
  });
  return {
    runners: new Map([...inner].map(([name, runner]) => [name, wrap(runner)])),
    within: (key, fn) => scope.run({ key, next: 0, replayed: 0 }, fn),
    answeredBefore: async (key) => (await deps.store.get(memoKey(key, 0))) !== undefined,
  };
}
