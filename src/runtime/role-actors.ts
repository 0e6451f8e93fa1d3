import { fromPromise } from 'xstate';
import type { CommitInput, CommitOutput, PrepareInput, PrepareOutput, WaitInput } from '../model/role-contracts.js';
import { createRoleWork, type RoleWorkDeps } from '../roles/create-role-work.js';
import { localExecutor, type Checkpoint, type RoleExecutor, type RoleWorkInput, type RoleWorkOutput } from '../roles/role-executor.js';
import type { RoleWorkName } from '../model/role-work.js';

export interface RoleActorDeps extends RoleWorkDeps {
  /**
   * Resolves once the snapshot that started this actor is durably stored (persist before effects),
   * with the ordinal of the invocation it records: the same after a restart, new for every call.
   */
  readonly checkpoint: (taskId: string) => Promise<Checkpoint>;
  /** Where role work runs: here (default) or on role services over the bus. */
  readonly executor?: RoleExecutor;
}

/**
 * The effects of the supervisor machine as xstate actors, built over the ports. Each actor first
 * waits for the checkpoint of the transition that started it, so a crash never leaves an effect
 * whose state was not recorded; and each one is safe to run again after a restart. The role work
 * itself runs through the executor: in this process, or on a role service that stores its result
 * by the invocation's key (so a re-sent call after a restart gets that result, not a second model call).
 */
export function createRoleActors(deps: RoleActorDeps) {
  const work = createRoleWork(deps);
  const executor = deps.executor ?? localExecutor(work);
  const remote = <K extends RoleWorkName>(name: K, taskId: (input: RoleWorkInput<K>) => string) =>
    fromPromise<RoleWorkOutput<K>, RoleWorkInput<K>>(async ({ input, signal }) => {
      const id = taskId(input);
      const { invocation } = await deps.checkpoint(id);
      return executor.run(name, input, { taskId: id, invocation, signal });
    });
  const prepare = fromPromise<PrepareOutput, PrepareInput>(async ({ input, signal }) => {
    await deps.checkpoint(input.taskId);
    return work.prepare(input, signal);
  });
  const commit = fromPromise<CommitOutput, CommitInput>(async ({ input, signal }) => {
    await deps.checkpoint(input.taskId);
    return work.commit(input, signal);
  });
  const wait = fromPromise<void, WaitInput>(async ({ input, signal }) => {
    await deps.clock.sleep(Math.max(0, input.until - deps.clock.now()), signal);
  });
  return {
    prepare,
    plan: remote('plan', (input) => input.task.id),
    reviewPlan: remote('reviewPlan', (input) => input.task.id),
    implement: remote('implement', (input) => input.task.id),
    reviewCode: remote('reviewCode', (input) => input.task.id),
    validate: remote('validate', (input) => input.task.id),
    gate: remote('gate', (input) => input.taskId),
    commit,
    wait,
  };
}
