import { DeliverPolicy } from '@nats-io/jetstream';
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { errorMessage, StoreError } from '../platform/errors.js';
import { DeadLetterSchema, deadLetterSubject, type DeadLetter, type WorkQueueHooks, type WorkQueueSpec } from './work-queue.js';

/**
 * The NATS work queue's dead-letter log and the error reporting its parts share: a message that
 * cannot be handled is stored in the `<stream>_DEAD` stream, then terminated.
 */

/** The header JetStream deduplicates on; it carries the id given to enqueue. */
export const MSG_ID = 'Nats-Msg-Id';

export interface QueueReporting {
  /** Hands an error to the onError hook, or to a process warning when there is none. */
  readonly reportError: (error: unknown, message?: JsMsg) => void;
  /** Acks go out on the connection, which may be gone; the server then redelivers after ackWaitMs anyway. */
  readonly quietly: (message: JsMsg, ack: () => void) => void;
}

export function createQueueReporting(spec: WorkQueueSpec, hooks: WorkQueueHooks): QueueReporting {
  const reportError = (error: unknown, message?: JsMsg): void => {
    try {
      if (hooks.onError) hooks.onError(error, message ? { subject: message.subject, sequence: message.seq } : {});
      else process.emitWarning(`work queue ${spec.stream}/${spec.consumer}: ${errorMessage(error)}`);
    } catch (hookError) {
      process.emitWarning(`work queue onError hook failed: ${errorMessage(hookError)}`);
    }
  };
  const quietly = (message: JsMsg, ack: () => void): void => {
    try {
      ack();
    } catch (error) {
      reportError(error, message);
    }
  };
  return { reportError, quietly };
}

/** Moves a message to the dead-letter log; returns the function that does it for one queue. */
export function createDeadLetterWriter(
  js: JetStreamClient,
  spec: WorkQueueSpec,
  hooks: WorkQueueHooks,
  reporting: QueueReporting,
): (message: JsMsg, reason: string) => Promise<void> {
  const deadSubject = deadLetterSubject(spec.stream);
  const { reportError, quietly } = reporting;
  // The letter is stored before the message is terminated, so it is never lost between the two.
  return async (message, reason) => {
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
}

/** The last `limit` dead letters, read with a throwaway ordered consumer; malformed ones are reported and skipped. */
export async function readDeadLetters(
  js: JetStreamClient,
  spec: WorkQueueSpec,
  timeout: number,
  limit: number,
  reportError: QueueReporting['reportError'],
): Promise<DeadLetter[]> {
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
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
