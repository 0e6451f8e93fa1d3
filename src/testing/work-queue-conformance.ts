import { afterEach, describe } from 'vitest';
import type { WorkQueue, WorkQueueSpecInput } from '../queue/work-queue.js';
import { describeConsumerCases } from './work-queue-consumer-cases.js';
import { describeDeliveryCases } from './work-queue-delivery-cases.js';
import { ACK_WAIT_MS, SUBMIT } from './work-queue-kit.js';

export interface WorkQueueUnderTest {
  readonly queue: WorkQueue;
  /** Another process's client of the same queue (for NATS: its own connection). */
  readonly peer: () => Promise<WorkQueue>;
  /** Kills a peer as `kill -9` would: nothing acknowledged or handed back. */
  readonly kill: (peer: WorkQueue) => Promise<void>;
  /** Stores raw bytes on a queue subject, past validation, as a broken producer could. */
  readonly injectRaw: (subject: string, data: string) => Promise<void>;
  /** Closes every client and removes the queue with its messages. */
  readonly cleanup: () => Promise<void>;
}

export type WorkQueueFactory = (spec: WorkQueueSpecInput) => Promise<WorkQueueUnderTest>;

const baseSpec: WorkQueueSpecInput = {
  stream: 'CONFORMANCE',
  subjects: [SUBMIT],
  consumer: 'workers',
  ackWaitMs: ACK_WAIT_MS,
  maxDeliveries: 3,
  retryDelayMs: 50,
};

/**
 * The one suite every WorkQueue implementation must pass (in-memory and JetStream). It uses only
 * the port plus the factory's peer/kill/injectRaw, and waits by polling with a bound, because
 * redelivery after a crash is a matter of time (ackWaitMs) on every implementation.
 */
export function describeWorkQueueConformance(name: string, factory: WorkQueueFactory): void {
  describe(`WorkQueue conformance: ${name}`, () => {
    let underTest: WorkQueueUnderTest | undefined;

    const open = async (overrides: Partial<WorkQueueSpecInput> = {}): Promise<WorkQueueUnderTest> => {
      underTest = await factory({ ...baseSpec, ...overrides });
      return underTest;
    };

    afterEach(async () => {
      await underTest?.cleanup();
      underTest = undefined;
    });

    describeDeliveryCases(open);
    describeConsumerCases(open);
  });
}
