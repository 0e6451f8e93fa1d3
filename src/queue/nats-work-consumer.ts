import type { Consumer, ConsumerMessages, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { errorMessage } from '../platform/errors.js';
import { decodeMessage } from '../bus/codec.js';
import { MSG_ID, type QueueReporting } from './nats-dead-letters.js';
import type { StopOptions, WorkConsumer, WorkConsumerOptions, WorkHandler, WorkQueueSpec } from './work-queue.js';

/**
 * One consumer of the NATS work queue. Each worker pulls one message at a time, so a replica never
 * holds more messages than it can handle, and keeps the message's ack deadline moving (`working`)
 * while its handler runs: only a dead or stuck process lets `ackWaitMs` pass. The server gives up
 * after maxDeliveries + 1 deliveries; that extra one is how a consumer learns that earlier ones
 * crashed, and it goes to the dead-letter log.
 */

const RETRY_AFTER_ERROR_MS = [100, 250, 500, 1_000, 2_000] as const;

interface NatsConsumerContext {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly spec: WorkQueueSpec;
  /** How long an ack waits for the server's confirmation. */
  readonly timeout: number;
  /** How long one idle pull waits for a message before asking again. */
  readonly pullExpires: number;
  readonly reporting: QueueReporting;
  readonly deadLetter: (message: JsMsg, reason: string) => Promise<void>;
  /** Told once the consumer stopped, so the queue's close() no longer waits for it. */
  readonly onStopped: (consumer: WorkConsumer) => void;
}

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

export function startNatsConsumer(context: NatsConsumerContext, handler: WorkHandler, consumerOptions: WorkConsumerOptions = {}): WorkConsumer {
  const { nc, js, spec, timeout, pullExpires, deadLetter } = context;
  const { reportError, quietly } = context.reporting;
  const heartbeatMs = Math.max(50, Math.floor(spec.ackWaitMs / 3));
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
          headers: producerHeaders(message),
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
      const late = await Promise.race([
        all.then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), stopOptions.handBackAfterMs))),
      ]);
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
    context.onStopped(consumer);
    await Promise.race([Promise.all(loops), sleep(pullExpires)]);
  };
  const consumer: WorkConsumer = { stop };
  return consumer;
}

/** The headers the producer gave (NATS's own, such as the message id, left out). */
function producerHeaders(message: JsMsg): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of message.headers?.keys() ?? []) {
    if (!name.toLowerCase().startsWith('nats-')) out[name] = message.headers?.get(name) ?? '';
  }
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
