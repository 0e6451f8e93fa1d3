import type { Bus, Subscription } from '../bus/bus.js';
import { resultKey, type RoleRunMessage, type StoredRoleResult } from '../model/role-work.js';
import type { Store } from '../store/store.js';
import { subject } from '../bus/subjects.js';
import type { DeadLetter, StopOptions, WorkConsumer, WorkDelivery, WorkQueue } from '../queue/work-queue.js';
import type { Clock } from '../platform/clock.js';
import { errorMessage, StoreError, TandemError } from '../platform/errors.js';
import { RoleWorkServices, type RoleServiceName, type RoleWork, type RoleWorkName, type WorkOptions } from '../runtime/role-executor.js';
import type { MemoRunners } from './memo-runners.js';
import type { Logger } from '../telemetry/logger.js';

export interface RoleServiceOptions {
  readonly service: RoleServiceName;
  readonly queue: WorkQueue;
  /** A patient store (patient-store.ts) in deployment: a paid-for result rides out a NATS restart. */
  readonly store: Store;
  readonly bus: Bus;
  readonly work: RoleWork;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Calls this replica runs at once. */
  readonly concurrency?: number;
  /** The runners of `work`, wrapped so that answers given before are replayed, not paid again. */
  readonly memo?: MemoRunners;
}

export interface RoleServiceStats {
  /** Calls this replica ran (a model was asked, a gate ran). */
  readonly ran: number;
  /** Deliveries answered from the store: the call had been completed before. */
  readonly replayed: number;
  readonly failed: number;
}

export interface RoleService {
  readonly service: RoleServiceName;
  stats(): RoleServiceStats;
  /** Takes no new work; waits for the calls in flight, or hands them back after `handBackAfterMs`. */
  stop(options?: StopOptions): Promise<void>;
}

/**
 * One role as a service: takes calls from its queue (replicas share it), runs each, and stores the
 * result under the call's key BEFORE the delivery is acknowledged. A redelivered call (a replica
 * died after storing, or a supervisor re-sent it) is answered from the store without running again.
 */
export function startRoleService(options: RoleServiceOptions): RoleService {
  const { service, store, bus, clock, logger } = options;
  const works = new Set(Object.entries(RoleWorkServices).filter(([, s]) => s === service).map(([w]) => w as RoleWorkName));
  let ran = 0;
  let replayed = 0;
  let failed = 0;
  /** Calls in flight by task, so that a task's abort stops them. */
  const running = new Map<string, Set<AbortController>>();
  const cancels: Subscription = bus.subscribe(subject({ kind: 'results.all' }), (message) => {
    if (message.type !== 'role.cancel') return;
    for (const controller of running.get(message.taskId) ?? []) controller.abort(new TandemError(`the task was aborted${message.reason ? `: ${message.reason}` : ''}`));
  });

  const notify = async (message: RoleRunMessage): Promise<void> => {
    await bus.publish(subject({ kind: 'results', taskId: message.taskId }), { type: 'role.result', taskId: message.taskId, key: message.key, at: clock.now() }).catch((error: unknown) => {
      // The supervisor also reads the store on its own; a lost notice only costs it a poll.
      logger.warn({ err: error, key: message.key }, 'could not announce a stored result');
    });
  };

  const save = async (message: RoleRunMessage, result: StoredRoleResult): Promise<void> => {
    try {
      await store.put(resultKey(message.key), result, { expectedRevision: 0 });
    } catch (error) {
      // Another replica stored this call first (a redelivery raced it): that result stands.
      if (!(error instanceof StoreError && error.code === 'conflict')) throw error;
    }
  };

  const handle = async (delivery: WorkDelivery): Promise<void> => {
    const message = delivery.message as RoleRunMessage;
    const work = message.type.slice('role.'.length) as RoleWorkName;
    const fields = { task: message.taskId, key: message.key, service, delivery: delivery.deliveryCount };
    if ((await store.get(resultKey(message.key))) !== undefined) {
      replayed++;
      logger.info(fields, `call ${message.key} was answered before; not running it again`);
      await notify(message);
      return;
    }
    if (!works.has(work)) {
      failed++;
      await save(message, { ok: false, error: `the ${service} service does not do "${work}" work`, retryable: false, service, at: clock.now() });
      await notify(message);
      return;
    }
    logger.info(fields, `${service}: ${work} for ${message.taskId}`);
    let result: StoredRoleResult;
    const cancel = new AbortController();
    const calls = running.get(message.taskId) ?? new Set<AbortController>();
    running.set(message.taskId, calls.add(cancel));
    const signal = AbortSignal.any([delivery.signal, cancel.signal]);
    try {
      const fn = options.work[work] as (input: unknown, signal: AbortSignal, workOptions: WorkOptions) => Promise<unknown>;
      const memo = options.memo;
      const resumed = memo !== undefined && work === 'implement' && (await memo.answeredBefore(message.key));
      if (resumed) logger.info(fields, `call ${message.key}: its model answered before this service died; finishing it without asking again`);
      const run = (): Promise<unknown> => fn(message.input, signal, { resumed });
      const output = memo === undefined ? await run() : await memo.within(message.key, run);
      ran++;
      result = { ok: true, output, service, at: clock.now() };
    } catch (error) {
      // Handed back on shutdown, or the store is away: not answered, so the queue delivers it again
      // (no ack, no result); the model's answers given so far are replayed then, not paid again.
      if (delivery.signal.aborted || (error instanceof StoreError && error.code === 'unavailable')) throw error;
      failed++;
      logger.warn({ ...fields, err: error }, `${service}: ${work} for ${message.taskId} failed`);
      const reason = cancel.signal.aborted ? `cancelled: ${errorMessage(cancel.signal.reason)}` : errorMessage(error);
      result = { ok: false, error: reason, retryable: !cancel.signal.aborted && error instanceof TandemError && error.retryable, service, at: clock.now() };
    } finally {
      calls.delete(cancel);
      if (calls.size === 0) running.delete(message.taskId);
    }
    await save(message, result);
    await notify(message);
  };

  const consumer: WorkConsumer = options.queue.consume(handle, { concurrency: options.concurrency ?? 1 });
  return {
    service,
    stats: () => ({ ran, replayed, failed }),
    async stop(stopOptions) {
      await consumer.stop(stopOptions);
      cancels.unsubscribe();
    },
  };
}

/**
 * A call the queue gave up on (it crashed its service every time) still needs an answer, or its
 * supervisor waits until its timeout: store the dead letter's reason as the call's failure.
 */
export async function answerDeadLetter(letter: DeadLetter, deps: { store: Store; bus: Bus; clock: Clock; service: RoleServiceName }): Promise<void> {
  if (letter.id === undefined) return;
  const taskId = letter.id.split('.')[0];
  if (taskId === undefined || taskId === '') return;
  const result: StoredRoleResult = { ok: false, error: `gave up after ${letter.deliveries} deliveries: ${letter.reason}`, retryable: false, service: deps.service, at: deps.clock.now() };
  try {
    await deps.store.put(resultKey(letter.id), result, { expectedRevision: 0 });
  } catch (error) {
    if (!(error instanceof StoreError && error.code === 'conflict')) throw error;
  }
  await deps.bus.publish(subject({ kind: 'results', taskId }), { type: 'role.result', taskId, key: letter.id, at: deps.clock.now() });
}
