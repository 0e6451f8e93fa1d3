import type { BusMessage, SubmitMessage } from '../model/task-events.js';
import { subject } from '../bus/subjects.js';
import type { WorkDelivery, WorkQueueSpecInput } from '../queue/work-queue.js';
import type { WorkQueueUnderTest } from './work-queue-conformance.js';

/**
 * What the WorkQueue conformance cases share: the queue subject, the timings every implementation
 * is held to, and bounded waiting (redelivery after a crash is a matter of time on every one).
 */

export const SUBMIT = subject({ kind: 'tasks.submit' });
export const ACK_WAIT_MS = 800;
/** Long enough for any implementation to redeliver something it was going to redeliver. */
export const SETTLE_MS = ACK_WAIT_MS + 400;
const WAIT_LIMIT_MS = 10_000;

/** Opens a fresh queue for one case; the suite cleans it up after the case. */
export type OpenQueue = (overrides?: Partial<WorkQueueSpecInput>) => Promise<WorkQueueUnderTest>;

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `done` holds; fails naming `what` after WAIT_LIMIT_MS. */
export async function waitFor(what: string, done: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_LIMIT_MS;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${WAIT_LIMIT_MS} ms waiting for ${what}`);
    await delay(10);
  }
}

export function idOf(message: BusMessage): string {
  return (message as SubmitMessage).spec.id;
}

export interface Seen {
  readonly id: string;
  readonly deliveryCount: number;
  readonly sequence: number;
}

export const seen = (delivery: WorkDelivery): Seen => ({ id: idOf(delivery.message), deliveryCount: delivery.deliveryCount, sequence: delivery.sequence });
