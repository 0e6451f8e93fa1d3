import type { z } from 'zod';
import type { RoleWorkSchemas, SupervisorActorSchemas } from '../model/role-contracts.js';
import type { RoleWorkName } from '../model/role-work.js';

/**
 * The seam between the supervisor and where role work runs. In one process the work runs here; in
 * distributed mode a role service runs it, and the supervisor only waits for its stored result.
 */

/** Each work's input and output, inferred from the one definition in the model floor. */
export type RoleWorkInput<K extends RoleWorkName> = z.infer<(typeof RoleWorkSchemas)[K]['input']>;
export type RoleWorkOutput<K extends RoleWorkName> = z.infer<(typeof RoleWorkSchemas)[K]['output']>;

export interface WorkOptions {
  /** The work ran before and its model call answered (a role service died after that): finish it. */
  readonly resumed?: boolean;
}

/** The machine's own actors that do work (the worktree and the commit), typed from their schemas. */
type ActorWork<K extends 'prepare' | 'commit'> = (
  input: z.infer<(typeof SupervisorActorSchemas)[K]['input']>,
  signal: AbortSignal,
) => Promise<z.infer<(typeof SupervisorActorSchemas)[K]['output']>>;

export type RoleWork = { readonly [K in RoleWorkName]: (input: RoleWorkInput<K>, signal: AbortSignal, options?: WorkOptions) => Promise<RoleWorkOutput<K>> } & {
  readonly prepare: ActorWork<'prepare'>;
  readonly commit: ActorWork<'commit'>;
};

export interface Checkpoint {
  /**
   * Ordinal of the actor invocation this checkpoint recorded, counted per task in its record: a
   * restart restores the same number, every new invocation (a retry, a call after a pause or a
   * person's decision) gets the next one. With the task id it is the role call's idempotency key.
   */
  readonly invocation: number;
}

export interface WorkContext {
  readonly taskId: string;
  readonly invocation: number;
  readonly signal: AbortSignal;
}

export interface RoleExecutor {
  run<K extends RoleWorkName>(work: K, input: RoleWorkInput<K>, context: WorkContext): Promise<RoleWorkOutput<K>>;
}

/** Runs the work in this process. */
export function localExecutor(work: RoleWork): RoleExecutor {
  return {
    run(name, input, context) {
      const fn = work[name] as (input: unknown, signal: AbortSignal) => Promise<RoleWorkOutput<typeof name>>;
      return fn(input, context.signal);
    },
  };
}
