import { AckPolicy, DeliverPolicy, DiscardPolicy, JetStreamApiError, jetstream, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import type { Consumer, ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import type { NatsConnection } from '@nats-io/nats-core';
import { errorMessage, StoreError } from '../platform/errors.js';
import { decodeMessage, encodeMessage } from '../bus/codec.js';
import type { BusMessage } from '../model/task-events.js';
import { subjectMatches } from '../bus/subjects.js';
import { DEAD_LETTERS_KEPT, DEFAULT_DEAD_LETTER_LIMIT, DeadLetterSchema, deadLetterSubject, WorkQueueSpecSchema } from './work-queue.js';
import type {
  DeadLetter,
  EnqueueResult,
  StopOptions,
  WorkConsumer,
  WorkConsumerOptions,
  WorkHandler,
  WorkQueue,
  WorkQueueHooks,
  WorkQueueSpec,
  WorkQueueSpecInput,
} from './work-queue.js';

export interface NatsWorkQueueOptions extends WorkQueueHooks {
  /** Shared with the bus and the store; the queue never closes it. */
  readonly connection: NatsConnection;
  readonly spec: WorkQueueSpecInput;
  /** How long enqueue and the dead-letter log wait for the server. */
  readonly timeoutMs?: number;
  /** How long one idle pull waits for a message before asking again. */
  readonly pullExpiresMs?: number;
}

const DEFAULT_TIMEOUT_MS = 5_000;
const DEFAULT_PULL_EXPIRES_MS = 5_000;
const DEAD_LETTER_MAX_AGE_MS = 30 * 24 * 3_600_000;
const RETRY_AFTER_ERROR_MS = [100, 250, 500, 1_000, 2_000] as const;
const STREAM_NAME_IN_USE = 10_058;
const MSG_ID = 'Nats-Msg-Id';

interface Running {
  readonly message: JsMsg;
  readonly controller: AbortController;
  readonly heartbeat: NodeJS.Timeout;
  readonly settled: Promise<void>;
  readonly state: { handedBack: boolean };
}

interface Worker {
  batch: ConsumerMessages | undefined;
}

/**
 * The distributed-mode WorkQueue: a work-queue stream (a message is gone once acknowledged), a
 * durable pull consumer shared by every replica, and a limits stream beside it for dead letters.
 *
 * Each worker pulls one message at a time, so a replica never holds more messages than it can
 * handle, and keeps the message's ack deadline moving (`working`) while its handler runs: only a
 * dead or stuck process lets `ackWaitMs` pass. The server gives up after maxDeliveries + 1
 * deliveries; that extra one is how a consumer learns that earlier ones crashed, and it goes to the
 * dead-letter log.
 */
export async function openNatsWorkQueue(options: NatsWorkQueueOptions): Promise<WorkQueue> {
  const spec = WorkQueueSpecSchema.parse(options.spec);
  const timeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const nc = options.connection;
  const js = jetstream(nc, { timeout });
  let jsm: JetStreamManager;
  try {
    jsm = await jetstreamManager(nc, { timeout });
    await ensureStreams(jsm, spec);
    await ensureConsumer(jsm, spec);
  } catch (error) {
    throw new StoreError('unavailable', `cannot set up the work queue ${spec.stream}/${spec.consumer}: ${errorMessage(error)}`, { cause: error });
  }
  return createNatsWorkQueue(nc, js, spec, options, timeout);
}

async function ensureStreams(jsm: JetStreamManager, spec: WorkQueueSpec): Promise<void> {
  const work = {
    subjects: spec.subjects,
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    duplicate_window: nanos(spec.duplicateWindowMs),
  };
  const dead = {
    subjects: [deadLetterSubject(spec.stream)],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_msgs: DEAD_LETTERS_KEPT,
    max_age: nanos(DEAD_LETTER_MAX_AGE_MS),
  };
  for (const [name, config] of [
    [spec.stream, work],
    [`${spec.stream}_DEAD`, dead],
  ] as const) {
    try {
      await jsm.streams.add({ name, ...config });
    } catch (error) {
      // Another replica made it with other settings (say a longer window): take ours.
      if (!(error instanceof JetStreamApiError && error.code === STREAM_NAME_IN_USE)) throw error;
      await jsm.streams.update(name, config);
    }
  }
}

async function ensureConsumer(jsm: JetStreamManager, spec: WorkQueueSpec): Promise<void> {
  const config = {
    ack_wait: nanos(spec.ackWaitMs),
    max_deliver: spec.maxDeliveries + 1,
  };
  try {
    await jsm.consumers.add(spec.stream, {
      durable_name: spec.consumer,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ...(spec.filter === undefined ? {} : { filter_subject: spec.filter }),
      ...config,
    });
  } catch (error) {
    if (!(error instanceof JetStreamApiError)) throw error;
    await jsm.consumers.update(spec.stream, spec.consumer, config);
  }
}

function createNatsWorkQueue(nc: NatsConnection, js: JetStreamClient, spec: WorkQueueSpec, hooks: NatsWorkQueueOptions, timeout: number): WorkQueue {
  const pullExpires = hooks.pullExpiresMs ?? DEFAULT_PULL_EXPIRES_MS;
  const consumers = new Set<WorkConsumer>();
  const deadSubject = deadLetterSubject(spec.stream);
  const heartbeatMs = Math.max(50, Math.floor(spec.ackWaitMs / 3));
  let closed = false;

  const takes = (subj: string): boolean => subjectMatches(spec.filter ?? '>', subj) && spec.subjects.some((s) => subjectMatches(s, subj));

  const reportError = (error: unknown, message?: JsMsg): void => {
    try {
      if (hooks.onError) hooks.onError(error, message ? { subject: message.subject, sequence: message.seq } : {});
      else process.emitWarning(`work queue ${spec.stream}/${spec.consumer}: ${errorMessage(error)}`);
    } catch (hookError) {
      process.emitWarning(`work queue onError hook failed: ${errorMessage(hookError)}`);
    }
  };

  /** Acks go out on the connection, which may be gone; the server then redelivers after ackWaitMs anyway. */
  const quietly = (message: JsMsg, ack: () => void): void => {
    try {
      ack();
    } catch (error) {
      reportError(error, message);
    }
  };

  /** The letter is stored before the message is terminated, so it is never lost between the two. */
  const deadLetter = async (message: JsMsg, reason: string): Promise<void> => {
    const id = message.headers?.get(MSG_ID);
    const letter: DeadLetter = {
      subject: message.subject,
      sequence: message.seq,
      ...(id ? { id } : {}),
      deliveries: message.info.deliveryCount,
      reason,
      payload: new TextDecoder().decode(message.data),
      at: Date.now(),
    };
    try {
      await js.publish(deadSubject, JSON.stringify(letter));
    } catch (error) {
      reportError(error, message);
      quietly(message, () => message.nak(spec.retryDelayMs));
      return;
    }
    quietly(message, () => message.term(reason.slice(0, 200)));
    try {
      hooks.onDeadLetter?.(letter);
    } catch (hookError) {
      process.emitWarning(`work queue onDeadLetter hook failed: ${errorMessage(hookError)}`);
    }
  };

  const consume = (handler: WorkHandler, consumerOptions: WorkConsumerOptions = {}): WorkConsumer => {
    if (closed) throw new StoreError('unavailable', `cannot consume: the work queue ${spec.stream} is closed`);
    const concurrency = consumerOptions.concurrency ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new TypeError(`concurrency must be a positive integer, got ${concurrency}`);
    const running = new Set<Running>();
    const workers: Worker[] = [];
    let stopping = false;

    const handle = async (message: JsMsg): Promise<void> => {
      const deliveryCount = message.info.deliveryCount;
      if (deliveryCount > spec.maxDeliveries) {
        await deadLetter(message, `not acknowledged after ${spec.maxDeliveries} deliveries: the consumer stopped or crashed while handling it`);
        return;
      }
      const decoded = decodeMessage(message.subject, message.data);
      if (!decoded.ok) {
        await deadLetter(message, decoded.reason);
        return;
      }
      const controller = new AbortController();
      const heartbeat = setInterval(() => {
        if (nc.isClosed()) clearInterval(heartbeat);
        else quietly(message, () => message.working());
      }, heartbeatMs);
      // Shared with stop(): once the message is handed back, the handler's outcome no longer counts.
      const state = { handedBack: false };
      const settled = (async () => {
        try {
          await handler({
            subject: message.subject,
            message: decoded.message,
            id: message.headers?.get(MSG_ID) || undefined,
            sequence: message.seq,
            deliveryCount,
            signal: controller.signal,
          });
          if (state.handedBack) return;
          clearInterval(heartbeat);
          // Wait for the server to confirm: only then is the work known to be done.
          await message.ackAck({ timeout }).catch((error: unknown) => reportError(error, message));
        } catch (error) {
          if (state.handedBack) return;
          reportError(error, message);
          if (deliveryCount >= spec.maxDeliveries) {
            await deadLetter(message, `handler failed on delivery ${deliveryCount} of ${spec.maxDeliveries}: ${errorMessage(error)}`);
          } else {
            quietly(message, () => message.nak(spec.retryDelayMs));
          }
        } finally {
          clearInterval(heartbeat);
        }
      })();
      const entry: Running = { message, controller, heartbeat, settled, state };
      running.add(entry);
      try {
        await settled;
      } finally {
        running.delete(entry);
      }
    };

    const work = async (worker: Worker): Promise<void> => {
      let pull: Consumer | undefined;
      let failures = 0;
      while (!stopping && !nc.isClosed()) {
        try {
          pull ??= await js.consumers.get(spec.stream, spec.consumer);
          const batch = await pull.fetch({ max_messages: 1, expires: pullExpires, idle_heartbeat: Math.min(1_000, Math.floor(pullExpires / 2)) });
          worker.batch = batch;
          for await (const message of batch) {
            // A message that raced a stop goes back at once instead of after ackWaitMs.
            if (stopping) quietly(message, () => message.nak());
            else await handle(message);
          }
          failures = 0;
        } catch (error) {
          if (stopping || nc.isClosed()) break;
          reportError(error);
          await sleep(RETRY_AFTER_ERROR_MS[Math.min(failures++, RETRY_AFTER_ERROR_MS.length - 1)] ?? 1_000);
        } finally {
          worker.batch = undefined;
        }
      }
    };

    const loops = Array.from({ length: concurrency }, () => {
      const worker: Worker = { batch: undefined };
      workers.push(worker);
      return work(worker).catch((error: unknown) => reportError(error));
    });

    const stop = async (stopOptions: StopOptions = {}): Promise<void> => {
      stopping = true;
      for (const worker of workers) worker.batch?.stop();
      const all = Promise.all([...running].map((r) => r.settled));
      if (stopOptions.handBackAfterMs !== undefined) {
        let timer: NodeJS.Timeout | undefined;
        const late = await Promise.race([all.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), stopOptions.handBackAfterMs)))]);
        clearTimeout(timer);
        if (late) {
          for (const entry of running) {
            entry.state.handedBack = true;
            // A late heartbeat would stretch the ack deadline of the message's next delivery.
            clearInterval(entry.heartbeat);
            entry.controller.abort(new Error('the consumer is stopping: the message goes back to the queue'));
            quietly(entry.message, () => entry.message.nak());
          }
          running.clear();
        }
      } else {
        await all;
      }
      consumers.delete(consumer);
      await Promise.race([Promise.all(loops), sleep(pullExpires)]);
    };
    const consumer: WorkConsumer = { stop };
    consumers.add(consumer);
    return consumer;
  };

  return {
    spec,

    async enqueue(subj: string, message: BusMessage, enqueueOptions: { readonly id?: string } = {}): Promise<EnqueueResult> {
      if (closed || nc.isClosed()) throw new StoreError('unavailable', `cannot enqueue on ${subj}: the work queue ${spec.stream} is closed`);
      if (!takes(subj)) throw new TypeError(`cannot enqueue: ${subj} is not a subject of the work queue ${spec.stream}/${spec.consumer}`);
      const data = encodeMessage(message);
      const decoded = decodeMessage(subj, data);
      if (!decoded.ok) throw new TypeError(`cannot enqueue: ${decoded.reason}`);
      try {
        const ack = await js.publish(subj, data, enqueueOptions.id === undefined ? {} : { msgID: enqueueOptions.id });
        return { sequence: ack.seq, duplicate: ack.duplicate };
      } catch (error) {
        // Retrying with the same id is safe: the stream stores it once.
        throw new StoreError('unavailable', `cannot enqueue on ${subj}: ${errorMessage(error)}`, { cause: error });
      }
    },

    consume,

    async deadLetters(limit = DEFAULT_DEAD_LETTER_LIMIT): Promise<DeadLetter[]> {
      try {
        const jsm = await js.jetstreamManager();
        const info = await jsm.streams.info(`${spec.stream}_DEAD`);
        const count = Math.min(limit, info.state.messages);
        if (count === 0) return [];
        const start = Math.max(info.state.first_seq, info.state.last_seq - limit + 1);
        const reader = await js.consumers.get(`${spec.stream}_DEAD`, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start });
        const letters: DeadLetter[] = [];
        try {
          const batch = await reader.fetch({ max_messages: count, expires: timeout });
          for await (const message of batch) {
            const parsed = DeadLetterSchema.safeParse(safeJson(message.string()));
            if (parsed.success) letters.push(parsed.data);
            else reportError(new Error(`dead letter ${message.seq} of ${spec.stream} is malformed`));
            if (message.info.pending === 0) break;
          }
        } finally {
          await reader.delete().catch(() => undefined);
        }
        return letters;
      } catch (error) {
        throw new StoreError('unavailable', `cannot read the dead letters of ${spec.stream}: ${errorMessage(error)}`, { cause: error });
      }
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await Promise.all([...consumers].map((c) => c.stop()));
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
