import { AckPolicy, DeliverPolicy, DiscardPolicy, JetStreamApiError, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import type { JetStreamManager } from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import { DEAD_LETTERS_KEPT, deadLetterSubject, type WorkQueueSpec } from './work-queue.js';

/**
 * Creating the work queue's streams and consumer on the server. Every replica runs this at start,
 * so each step accepts what another replica already made and brings it to this spec.
 */

const DEAD_LETTER_MAX_AGE_MS = 30 * 24 * 3_600_000;
const STREAM_NAME_IN_USE = 10_058;

/** The work-queue stream (a message is gone once acknowledged) and a limits stream beside it for dead letters. */
export async function ensureStreams(jsm: JetStreamManager, spec: WorkQueueSpec): Promise<void> {
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

/** The durable pull consumer every replica shares; one delivery more than maxDeliveries (see nats-work-consumer.ts). */
export async function ensureConsumer(jsm: JetStreamManager, spec: WorkQueueSpec): Promise<void> {
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
