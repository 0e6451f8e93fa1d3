import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/nats-core';
import { errorMessage, StoreError } from '../platform/errors.js';
import { decodeMessage, encodeMessage } from '../bus/codec.js';
import type { BusMessage } from '../model/task-events.js';
import { subjectMatches } from '../bus/subjects.js';
import { createDeadLetterWriter, createQueueReporting, readDeadLetters } from './nats-dead-letters.js';
import { ensureConsumer, ensureStreams } from './nats-queue-setup.js';
import { startNatsConsumer } from './nats-work-consumer.js';
import { DEFAULT_DEAD_LETTER_LIMIT, WorkQueueSpecSchema } from './work-queue.js';
import type {
  DeadLetter,
  EnqueueOptions,
  EnqueueResult,
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

/**
 * The distributed-mode WorkQueue: a work-queue stream (a message is gone once acknowledged), a
 * durable pull consumer shared by every replica, and a limits stream beside it for dead letters.
 * Setting them up is in nats-queue-setup.ts, consuming in nats-work-consumer.ts, the dead-letter
 * log in nats-dead-letters.ts; this file opens the queue and enqueues.
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

function createNatsWorkQueue(nc: NatsConnection, js: JetStreamClient, spec: WorkQueueSpec, hooks: NatsWorkQueueOptions, timeout: number): WorkQueue {
  const pullExpires = hooks.pullExpiresMs ?? DEFAULT_PULL_EXPIRES_MS;
  const consumers = new Set<WorkConsumer>();
  const reporting = createQueueReporting(spec, hooks);
  const deadLetter = createDeadLetterWriter(js, spec, hooks, reporting);
  let closed = false;

  const takes = (subj: string): boolean => subjectMatches(spec.filter ?? '>', subj) && spec.subjects.some((s) => subjectMatches(s, subj));

  const consume = (handler: WorkHandler, consumerOptions: WorkConsumerOptions = {}): WorkConsumer => {
    if (closed) throw new StoreError('unavailable', `cannot consume: the work queue ${spec.stream} is closed`);
    const onStopped = (consumer: WorkConsumer): void => void consumers.delete(consumer);
    const consumer = startNatsConsumer({ nc, js, spec, timeout, pullExpires, reporting, deadLetter, onStopped }, handler, consumerOptions);
    consumers.add(consumer);
    return consumer;
  };

  return {
    spec,

    async enqueue(subj: string, message: BusMessage, enqueueOptions: EnqueueOptions = {}): Promise<EnqueueResult> {
      if (closed || nc.isClosed()) throw new StoreError('unavailable', `cannot enqueue on ${subj}: the work queue ${spec.stream} is closed`);
      if (!takes(subj)) throw new TypeError(`cannot enqueue: ${subj} is not a subject of the work queue ${spec.stream}/${spec.consumer}`);
      const data = encodeMessage(message);
      const decoded = decodeMessage(subj, data);
      if (!decoded.ok) throw new TypeError(`cannot enqueue: ${decoded.reason}`);
      try {
        const given = Object.entries(enqueueOptions.headers ?? {});
        const headers = given.length === 0 ? undefined : natsHeaders();
        for (const [name, value] of given) headers?.set(name, value);
        const ack = await js.publish(subj, data, {
          ...(enqueueOptions.id === undefined ? {} : { msgID: enqueueOptions.id }),
          ...(headers ? { headers } : {}),
        });
        return { sequence: ack.seq, duplicate: ack.duplicate };
      } catch (error) {
        // Retrying with the same id is safe: the stream stores it once.
        throw new StoreError('unavailable', `cannot enqueue on ${subj}: ${errorMessage(error)}`, { cause: error });
      }
    },

    consume,

    deadLetters(limit = DEFAULT_DEAD_LETTER_LIMIT): Promise<DeadLetter[]> {
      return readDeadLetters(js, spec, timeout, limit, reporting.reportError);
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await Promise.all([...consumers].map((c) => c.stop()));
    },
  };
}
