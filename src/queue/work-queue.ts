import { z } from 'zod';
import type { BusMessage } from '../model/task-events.js';
import { SUBJECT_PREFIX, subject } from '../bus/subjects.js';

/**
 * The WorkQueue port: durable, at-least-once work (task submissions, role calls) that survives the
 * death of any consumer. Embedded mode uses the in-memory queue, distributed mode a JetStream stream
 * with a durable pull consumer; one conformance suite covers both.
 *
 * A delivery is acknowledged only when its handler resolves, so a handler stores its result before
 * it returns. A handler that throws gets the message again after `retryDelayMs`; a consumer that
 * dies (or stops heart-beating) leaves the message to another one after `ackWaitMs`. After
 * `maxDeliveries` deliveries the message goes to the dead-letter log instead, and so does at once a
 * message that fails validation (it will never become valid).
 */
export const WorkQueueSpecSchema = z.strictObject({
  /** The stream (JetStream) holding the messages: upper-case letters, digits, `_`. */
  stream: z.string().regex(/^[A-Z0-9_]+$/, 'must be upper-case letters, digits and "_"'),
  /** Subjects the queue holds; a stream's subjects must not overlap another stream's. */
  subjects: z.array(z.string().min(1)).min(1),
  /** The durable consumer every replica of one service shares: each message goes to one of them. */
  consumer: z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be letters, digits, "-" and "_"'),
  /** The part of `subjects` this consumer takes (one role of the role stream); default all. */
  filter: z.string().min(1).optional(),
  ackWaitMs: z.number().int().positive().default(30_000),
  maxDeliveries: z.number().int().positive().default(5),
  retryDelayMs: z.number().int().nonnegative().default(1_000),
  /** Enqueues with the same `id` within this window are stored once. */
  duplicateWindowMs: z.number().int().positive().default(120_000),
});
export type WorkQueueSpec = z.infer<typeof WorkQueueSpecSchema>;
export type WorkQueueSpecInput = z.input<typeof WorkQueueSpecSchema>;

export interface WorkDelivery {
  readonly subject: string;
  /** Validated against the subject's channel, like a bus message. */
  readonly message: BusMessage;
  /** The producer's `id` (its idempotency key), when it gave one. */
  readonly id: string | undefined;
  /** The producer's headers (e.g. W3C `traceparent`), when it gave any. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Position in the queue; the same on every redelivery. */
  readonly sequence: number;
  /** 1 on the first delivery. */
  readonly deliveryCount: number;
  /** Aborted when the consumer hands the message back (stop with `handBackAfterMs`). */
  readonly signal: AbortSignal;
}

export type WorkHandler = (delivery: WorkDelivery) => void | Promise<void>;

export interface EnqueueOptions {
  /** The idempotency key: enqueues with the same id within the duplicate window are stored once. */
  readonly id?: string;
  /** Carried beside the message, not in it (NATS headers): the W3C trace context of the call. */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface EnqueueResult {
  readonly sequence: number;
  /** An earlier enqueue with the same `id` is still in the window; nothing new was stored. */
  readonly duplicate: boolean;
}

export const DeadLetterSchema = z.strictObject({
  subject: z.string(),
  sequence: z.number().int().nonnegative(),
  id: z.string().optional(),
  deliveries: z.number().int().nonnegative(),
  reason: z.string(),
  /** The message as it was stored, as text (invalid UTF-8 shows as U+FFFD). */
  payload: z.string(),
  at: z.number(),
});
export type DeadLetter = z.infer<typeof DeadLetterSchema>;

export interface WorkConsumerOptions {
  /** Handlers of this consumer running at once. Default 1. */
  readonly concurrency?: number;
}

export interface StopOptions {
  /**
   * Handlers still running after this long are told to give up (their `signal` aborts) and their
   * messages go back to the queue at once, for another replica. Default: wait for every handler.
   */
  readonly handBackAfterMs?: number;
}

export interface WorkConsumer {
  /** Takes no new work, then waits for (or hands back) the work in flight: a graceful SIGTERM. */
  stop(options?: StopOptions): Promise<void>;
}

export interface WorkQueue {
  readonly spec: WorkQueueSpec;
  /**
   * Resolves once the message is stored. Rejects with a TypeError when the message is invalid for
   * its subject or the subject is not one of the queue's, with StoreError('unavailable') when closed.
   */
  enqueue(subject: string, message: BusMessage, options?: EnqueueOptions): Promise<EnqueueResult>;
  consume(handler: WorkHandler, options?: WorkConsumerOptions): WorkConsumer;
  /** The most recent dead letters, oldest first. */
  deadLetters(limit?: number): Promise<DeadLetter[]>;
  /** Stops every consumer (waiting for their handlers); the queue's messages stay stored. */
  close(): Promise<void>;
}

export interface WorkQueueHooks {
  /** A handler failed (it will be retried or dead-lettered), or the queue could not reach its store. */
  readonly onError?: (error: unknown, context: { readonly subject?: string; readonly sequence?: number }) => void;
  /** A message went to the dead-letter log. */
  readonly onDeadLetter?: (letter: DeadLetter) => void;
}

/** Task submissions: one queue shared by every supervisor. */
export function submissionsQueue(overrides: Partial<WorkQueueSpecInput> = {}): WorkQueueSpec {
  return WorkQueueSpecSchema.parse({ stream: 'TANDEM_SUBMIT', subjects: [subject({ kind: 'tasks.submit' })], consumer: 'supervisors', ...overrides });
}

/** Work of one role: one stream for every role, one durable consumer per role (its replicas share it). */
export function roleQueue(role: string, overrides: Partial<WorkQueueSpecInput> = {}): WorkQueueSpec {
  return WorkQueueSpecSchema.parse({
    stream: 'TANDEM_ROLES',
    subjects: [`${SUBJECT_PREFIX}.role.*.run`],
    consumer: role,
    filter: subject({ kind: 'role.run', role }),
    ...overrides,
  });
}

/** Where a queue's dead letters go. */
export function deadLetterSubject(stream: string): string {
  return subject({ kind: 'dead', stream });
}

export const DEFAULT_DEAD_LETTER_LIMIT = 100;
/** The dead-letter log keeps this many letters; older ones are dropped. */
export const DEAD_LETTERS_KEPT = 10_000;
