import { createActor, fromPromise, type Actor, type InspectionEvent } from 'xstate';
import type { Bus, Subscription } from '../bus/bus.js';
import { resultKey, type RoleRunMessage, type StoredRoleResult } from '../model/role-work.js';
import type { Store } from '../store/store.js';
import { subject } from '../bus/subjects.js';
import type { DeadLetter, StopOptions, WorkConsumer, WorkDelivery, WorkQueue } from '../queue/work-queue.js';
import type { Clock } from '../platform/clock.js';
import { errorMessage, StoreError, TandemError } from '../platform/errors.js';
import { roleCallMachine, type CallRef, type RoleCallContext, type RunCallInput, type StoreCallInput } from '../machines/role-call-service.js';
import type { RoleWork, WorkOptions } from '../roles/role-executor.js';
import type { RoleServiceName } from '../model/role-work.js';
import type { MemoRunners } from './memo-runners.js';
import { createCallMarkers, type CallMarkers } from './call-markers.js';
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
  /** XState inspection (`--inspect`): every call's actor shows in the Stately inspector. */
  readonly inspect?: (event: InspectionEvent) => void;
  /** A replica that stopped renewing a call's running marker for this long is taken as dead (default 15 s). */
  readonly runningTtlMs?: number;
}

export interface RoleServiceStats {
  /** Calls this replica ran (a model was asked, a gate ran). */
  readonly ran: number;
  /** Deliveries answered from the store: the call had been completed before. */
  readonly replayed: number;
  readonly failed: number;
  /** Calls running here now. */
  readonly running: number;
}

export interface RoleService {
  readonly service: RoleServiceName;
  stats(): RoleServiceStats;
  /** Takes no new work; waits for the calls in flight, or hands them back after `handBackAfterMs`. */
  stop(options?: StopOptions): Promise<void>;
}

/**
 * One role as a service: takes calls from its queue (replicas share it) and runs each delivery as
 * one role-call actor (machines/role-call-service.ts), which stores the result under the call's key
 * BEFORE the delivery is acknowledged. A redelivered call (a replica died after storing, or a
 * supervisor re-sent it) is answered from the store without running again.
 */
export function startRoleService(options: RoleServiceOptions): RoleService {
  const { service, bus, logger } = options;
  let ran = 0;
  let replayed = 0;
  let failed = 0;
  /** Calls by task, so that a task's abort cancels them (the machine ignores it outside `running`). */
  const calls = new Map<string, Set<RoleCallActor>>();
  const cancels: Subscription = bus.subscribe(subject({ kind: 'results.all' }), (message) => {
    if (message.type !== 'role.cancel') return;
    for (const actor of calls.get(message.taskId) ?? []) actor.send({ type: 'CANCEL', reason: message.reason });
  });

  const markers = createCallMarkers({ store: options.store, clock: options.clock, logger, ttlMs: options.runningTtlMs ?? 15_000 });
  // The effects are the same for every call of this service: provided once, not per delivery.
  const machine = roleCallMachine.provide({ actors: roleCallActors(options, markers) });

  const handle = (delivery: WorkDelivery): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const message = delivery.message as RoleRunMessage;
      const fields = { task: message.taskId, key: message.key, service, delivery: delivery.deliveryCount };
      const tally = (context: RoleCallContext): void => {
        if (context.replayed) {
          replayed++;
          logger.info(fields, `call ${message.key} was answered before; not running it again`);
        }
        if (context.ran) ran++;
        if (context.result?.ok === false) {
          failed++;
          logger.warn({ ...fields, reason: context.result.error }, `${service}: ${context.work} for ${message.taskId} failed`);
        }
      };
      const actor: RoleCallActor = createActor(
        machine.provide({
          actions: {
            ack: ({ context }) => {
              tally(context);
              resolve();
            },
            // Not answered: the queue delivers the call again (no ack, no result).
            nak: ({ context }) =>
              reject(context.error instanceof Error ? context.error : new TandemError(`call ${message.key} was handed back: ${errorMessage(context.error)}`)),
          },
        }),
        // Named by the call's key, so a person finds a call's deliveries among the inspector's actors.
        {
          id: `roleCall ${message.key}`,
          input: { service, message, delivery: delivery.deliveryCount },
          ...(options.inspect ? { inspect: options.inspect } : {}),
        },
      );
      const forTask = calls.get(message.taskId) ?? new Set<RoleCallActor>();
      calls.set(message.taskId, forTask.add(actor));
      const handBack = (): void => actor.send({ type: 'HAND_BACK', reason: delivery.signal.reason });
      delivery.signal.addEventListener('abort', handBack, { once: true });
      const done = (): void => {
        // Stored or handed back: either way this replica no longer runs it.
        void markers.release(message.key);
        delivery.signal.removeEventListener('abort', handBack);
        forTask.delete(actor);
        if (forTask.size === 0 && calls.get(message.taskId) === forTask) calls.delete(message.taskId);
      };
      // A bug in the machine (an action threw) must still settle the delivery: it is handed back.
      actor.subscribe({
        complete: done,
        error: (error: unknown) => {
          done();
          reject(error instanceof Error ? error : new TandemError(errorMessage(error)));
        },
      });
      actor.start();
      if (delivery.signal.aborted) handBack();
    });

  const consumer: WorkConsumer = options.queue.consume(handle, { concurrency: options.concurrency ?? 1 });
  return {
    service,
    stats: () => ({ ran, replayed, failed, running: [...calls.values()].reduce((n, actors) => n + actors.size, 0) }),
    async stop(stopOptions) {
      await consumer.stop(stopOptions);
      cancels.unsubscribe();
      markers.close();
    },
  };
}

type RoleCallActor = Actor<typeof roleCallMachine>;

/** The machine's effects on this service's store, bus and work. */
function roleCallActors(options: RoleServiceOptions, markers: CallMarkers) {
  const { service, store, bus, clock, logger } = options;
  const announce = async (call: CallRef): Promise<void> => {
    await bus
      .publish(subject({ kind: 'results', taskId: call.taskId }), { type: 'role.result', taskId: call.taskId, key: call.key, at: clock.now() })
      .catch((error: unknown) => {
        // The supervisor also reads the store on its own; a lost notice only costs it a poll.
        logger.warn({ err: error, key: call.key }, 'could not announce a stored result');
      });
  };
  return {
    // The stored result, else the running marker, decide: a call running on a live replica is waited
    // for (its result is then replayed), one whose replica died is taken over; never run twice.
    findResult: fromPromise<boolean, CallRef>(async ({ input, signal }) => {
      for (let waited = false; ; waited = true) {
        if ((await store.get(resultKey(input.key))) !== undefined) return true;
        if ((await markers.claim(input.key)) === 'claimed') return false;
        if (!waited) logger.info({ task: input.taskId, key: input.key, service }, `call ${input.key} is running on another replica; waiting for its result`);
        await clock.sleep(1_000, signal);
      }
    }),
    recall: fromPromise<boolean, CallRef>(
      async ({ input }) => options.memo !== undefined && input.work === 'implement' && (await options.memo.answeredBefore(input.key)),
    ),
    run: fromPromise<unknown, RunCallInput>(({ input, signal }) => {
      const fields = { task: input.taskId, key: input.key, service };
      logger.info(fields, `${service}: ${input.work} for ${input.taskId}`);
      if (input.resumed) logger.info(fields, `call ${input.key}: its model answered before this service died; finishing it without asking again`);
      const fn = options.work[input.work] as (workInput: unknown, signal: AbortSignal, workOptions: WorkOptions) => Promise<unknown>;
      const run = (): Promise<unknown> => fn(input.input, signal, { resumed: input.resumed });
      return options.memo === undefined ? run() : options.memo.within(input.key, run);
    }),
    store: fromPromise<void, StoreCallInput>(async ({ input }) => {
      const stored: StoredRoleResult = { ...input.result, service, at: clock.now() };
      try {
        await store.put(resultKey(input.key), stored, { expectedRevision: 0 });
      } catch (error) {
        // Another replica stored this call first (a redelivery raced it): that result stands.
        if (!(error instanceof StoreError && error.code === 'conflict')) throw error;
      }
      await announce(input);
    }),
    announce: fromPromise<void, CallRef>(({ input }) => announce(input)),
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
  const result: StoredRoleResult = {
    ok: false,
    error: `gave up after ${letter.deliveries} deliveries: ${letter.reason}`,
    retryable: false,
    service: deps.service,
    at: deps.clock.now(),
  };
  try {
    await deps.store.put(resultKey(letter.id), result, { expectedRevision: 0 });
  } catch (error) {
    if (!(error instanceof StoreError && error.code === 'conflict')) throw error;
  }
  await deps.bus.publish(subject({ kind: 'results', taskId }), { type: 'role.result', taskId, key: letter.id, at: deps.clock.now() });
}
