import type { Bus, Subscription } from '../bus/bus.js';
import { resultKey, StoredRoleResultSchema, type RoleRunMessage, type StoredRoleResult } from '../model/role-work.js';
import type { Store } from '../store/store.js';
import { subject } from '../bus/subjects.js';
import type { WorkQueue } from '../queue/work-queue.js';
import type { Clock } from '../platform/clock.js';
import { RoleWorkSchemas } from '../model/role-contracts.js';
import { StoreError, TandemError } from '../platform/errors.js';
import { type RoleExecutor, type RoleWorkOutput } from '../roles/role-executor.js';
import { roleCallKey, RoleWorkServices, type RoleServiceName, type RoleWorkName } from '../model/role-work.js';
import type { Logger } from '../telemetry/logger.js';
import { untilAvailable } from './until-available.js';

export interface RemoteExecutorOptions {
  /** The work queue of each role service (roleQueue). */
  readonly queues: ReadonlyMap<RoleServiceName, WorkQueue>;
  readonly store: Store;
  readonly bus: Bus;
  readonly clock: Clock;
  readonly logger: Logger;
  /**
   * How long to wait for a service's result before the call fails (and the task waits for a
   * person): long enough for a queue with no service up to be served by one that starts later.
   */
  readonly resultTimeoutMs: number;
  /** The store is read again this often, in case a result's notice was lost (a reconnect). */
  readonly pollMs?: number;
  /** Headers sent with a task's call: the W3C trace context its spans continue (traced-calls.ts). */
  readonly traceHeaders?: (taskId: string) => Promise<Readonly<Record<string, string>>>;
}

export interface RemoteExecutor extends RoleExecutor {
  close(): void;
}

const DEFAULT_POLL_MS = 2_000;

/**
 * Role work on role services: the call is enqueued under its idempotency key (so a re-sent call is
 * stored once) and answered through the store, where the service puts the result before it
 * acknowledges the work. A supervisor that restarts sends the same call with the same key and finds
 * the stored result, or the work still queued: no completed model call is paid twice.
 */
export function createRemoteExecutor(options: RemoteExecutorOptions): RemoteExecutor {
  const { store, bus, clock, logger } = options;
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  /** Wakes the waiters of a key when its notice arrives. */
  const wakers = new Map<string, Set<() => void>>();
  const notices: Subscription = bus.subscribe(subject({ kind: 'results.all' }), (message) => {
    if (message.type !== 'role.result') return;
    for (const wake of wakers.get(message.key) ?? []) wake();
  });

  async function read(key: string): Promise<StoredRoleResult | undefined> {
    let entry;
    try {
      entry = await store.get(resultKey(key));
    } catch (error) {
      // The server is away (a restart): the answer is not lost, only late; ask again on the next poll.
      if (error instanceof StoreError && error.code === 'unavailable') return undefined;
      throw error;
    }
    if (entry === undefined) return undefined;
    const parsed = StoredRoleResultSchema.safeParse(entry.value);
    if (!parsed.success) throw new StoreError('corrupt', `the stored result of role call ${key} is invalid: ${parsed.error.issues[0]?.message ?? ''}`);
    return parsed.data;
  }

  /** Resolves on the key's notice or after `ms`; rejects when the signal aborts. */
  function nap(key: string, ms: number, signal: AbortSignal): Promise<void> {
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    const set = wakers.get(key) ?? new Set();
    wakers.set(key, set);
    const wake = (): void => controller.abort('notice');
    set.add(wake);
    return clock
      .sleep(ms, controller.signal)
      .catch((error: unknown) => {
        if (signal.aborted) throw error;
      })
      .finally(() => {
        signal.removeEventListener('abort', onAbort);
        set.delete(wake);
        if (set.size === 0) wakers.delete(key);
      });
  }

  async function awaitResult(key: string, signal: AbortSignal): Promise<StoredRoleResult> {
    const deadline = clock.now() + options.resultTimeoutMs;
    for (;;) {
      signal.throwIfAborted();
      const stored = await read(key);
      if (stored !== undefined) return stored;
      const left = deadline - clock.now();
      if (left <= 0) {
        throw new TandemError(`no role service answered call ${key} within ${Math.round(options.resultTimeoutMs / 1000)} s: is a service for it running?`, {
          retryable: true,
        });
      }
      await nap(key, Math.min(pollMs, left), signal);
    }
  }

  return {
    async run<K extends RoleWorkName>(
      work: K,
      input: unknown,
      context: { taskId: string; invocation: number; signal: AbortSignal },
    ): Promise<RoleWorkOutput<K>> {
      const service = RoleWorkServices[work];
      const queue = options.queues.get(service);
      if (queue === undefined) throw new TandemError(`no work queue for the ${service} service`);
      const key = roleCallKey(context.taskId, context.invocation, work);
      // A restarted supervisor may find the answer already stored.
      let stored = await read(key);
      if (stored === undefined) {
        const message = { type: `role.${work}`, taskId: context.taskId, key, at: clock.now(), input } as RoleRunMessage;
        const headers = await options.traceHeaders?.(context.taskId);
        const { duplicate } = await untilAvailable(
          () => queue.enqueue(subject({ kind: 'role.run', role: service }), message, { id: key, ...(headers ? { headers } : {}) }),
          clock,
          options.resultTimeoutMs,
          context.signal,
        );
        logger.debug(
          { task: context.taskId, key, service, duplicate },
          duplicate ? `call ${key} was already queued` : `queued ${work} for the ${service} service`,
        );
        stored = await awaitResult(key, context.signal);
      }
      if (!stored.ok) throw new TandemError(`the ${service} service failed call ${key}: ${stored.error}`, { retryable: stored.retryable });
      // Another process wrote it: checked against the one definition of the work's output before the machine sees it.
      const output = RoleWorkSchemas[work].output.safeParse(stored.output);
      if (!output.success) {
        const issue = output.error.issues[0];
        throw new StoreError(
          'corrupt',
          `the stored result of role call ${key} is not a valid ${work} output: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim(),
        );
      }
      return output.data as RoleWorkOutput<K>;
    },
    close() {
      notices.unsubscribe();
    },
  };
}
