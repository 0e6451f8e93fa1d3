import { afterEach, describe, expect, it } from 'vitest';
import type { BusMessage, SubmitMessage } from '../model/task-events.js';
import { subject } from '../bus/subjects.js';
import type { WorkDelivery, WorkQueue, WorkQueueSpecInput } from '../queue/work-queue.js';
import { StoreError } from '../platform/errors.js';
import { submitMessage } from './bus-conformance.js';

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

const SUBMIT = subject({ kind: 'tasks.submit' });
const ACK_WAIT_MS = 800;
/** Long enough for any implementation to redeliver something it was going to redeliver. */
const SETTLE_MS = ACK_WAIT_MS + 400;
const WAIT_LIMIT_MS = 10_000;

const baseSpec: WorkQueueSpecInput = {
  stream: 'CONFORMANCE',
  subjects: [SUBMIT],
  consumer: 'workers',
  ackWaitMs: ACK_WAIT_MS,
  maxDeliveries: 3,
  retryDelayMs: 50,
};

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `done` holds; fails naming `what` after WAIT_LIMIT_MS. */
async function waitFor(what: string, done: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_LIMIT_MS;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${WAIT_LIMIT_MS} ms waiting for ${what}`);
    await delay(10);
  }
}

function idOf(message: BusMessage): string {
  return (message as SubmitMessage).spec.id;
}

interface Seen {
  readonly id: string;
  readonly deliveryCount: number;
  readonly sequence: number;
}

const seen = (delivery: WorkDelivery): Seen => ({ id: idOf(delivery.message), deliveryCount: delivery.deliveryCount, sequence: delivery.sequence });

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

    it('delivers what was enqueued before any consumer, once each, in order, and never again once handled', async () => {
      const { queue } = await open();
      const results = [];
      for (const i of [1, 2, 3, 4, 5]) results.push(await queue.enqueue(SUBMIT, submitMessage(`S${i}`)));
      expect(results.map((r) => r.duplicate)).toEqual([false, false, false, false, false]);
      expect(new Set(results.map((r) => r.sequence)).size).toBe(5);
      const got: Seen[] = [];
      queue.consume((delivery) => void got.push(seen(delivery)));
      await waitFor('5 deliveries', () => got.length === 5);
      await delay(SETTLE_MS);
      expect(got).toEqual(results.map((r, i) => ({ id: `S${i + 1}`, deliveryCount: 1, sequence: r.sequence })));
    });

    it('stores an enqueue with an id once while the id is remembered', async () => {
      const { queue } = await open();
      const first = await queue.enqueue(SUBMIT, submitMessage('S1'), { id: 'submit-S1' });
      const again = await queue.enqueue(SUBMIT, submitMessage('S1'), { id: 'submit-S1' });
      const other = await queue.enqueue(SUBMIT, submitMessage('S2'), { id: 'submit-S2' });
      expect([first.duplicate, again.duplicate, other.duplicate]).toEqual([false, true, false]);
      expect(again.sequence).toBe(first.sequence);
      const got: Array<[string, string | undefined]> = [];
      queue.consume((delivery) => void got.push([idOf(delivery.message), delivery.id]));
      await waitFor('2 deliveries', () => got.length === 2);
      await delay(100);
      expect(got).toEqual([
        ['S1', 'submit-S1'],
        ['S2', 'submit-S2'],
      ]);
    });

    it('rejects an invalid message or a foreign subject on enqueue with a TypeError, and stores nothing', async () => {
      const { queue } = await open();
      const invalid = { type: 'task.submit', repo: '/repo', at: 1 } as unknown as BusMessage;
      await expect(queue.enqueue(SUBMIT, invalid)).rejects.toThrow(`cannot enqueue: ${SUBMIT}: invalid submit message: spec:`);
      const control = subject({ kind: 'control', taskId: 'T1' });
      await expect(queue.enqueue(control, { type: 'task.abort', taskId: 'T1', at: 1 })).rejects.toThrow(
        `cannot enqueue: ${control} is not a subject of the work queue ${queue.spec.stream}/workers`,
      );
      await queue.enqueue(SUBMIT, submitMessage('S1'));
      const got: string[] = [];
      queue.consume((delivery) => void got.push(idOf(delivery.message)));
      await waitFor('1 delivery', () => got.length === 1);
      await delay(100);
      expect(got).toEqual(['S1']);
    });

    it('redelivers after a handler fails, with the next delivery count, until it succeeds', async () => {
      const { queue } = await open();
      await queue.enqueue(SUBMIT, submitMessage('S1'));
      const got: Seen[] = [];
      // Throws synchronously; the dead-letter test below rejects instead.
      queue.consume((delivery) => {
        got.push(seen(delivery));
        if (delivery.deliveryCount < 2) throw new Error('model overloaded');
      });
      await waitFor('2 deliveries', () => got.length === 2);
      await delay(SETTLE_MS);
      expect(got.map((s) => [s.id, s.deliveryCount])).toEqual([
        ['S1', 1],
        ['S1', 2],
      ]);
      expect(got[1]?.sequence).toBe(got[0]?.sequence);
      expect(await queue.deadLetters()).toEqual([]);
    });

    it('dead-letters a message whose handler fails maxDeliveries times, with the last error', async () => {
      const { queue } = await open();
      const { sequence } = await queue.enqueue(SUBMIT, submitMessage('S1'), { id: 'poison' });
      await queue.enqueue(SUBMIT, submitMessage('S2'));
      const got: Array<[string, number]> = [];
      queue.consume(async (delivery) => {
        got.push([idOf(delivery.message), delivery.deliveryCount]);
        await Promise.resolve();
        if (idOf(delivery.message) === 'S1') throw new Error(`broken on try ${delivery.deliveryCount}`);
      });
      await waitFor('S1 three times and S2', () => got.length === 4);
      let letters = await queue.deadLetters();
      for (let i = 0; i < 100 && letters.length === 0; i++) letters = await delay(20).then(() => queue.deadLetters());
      expect(letters).toEqual([
        {
          subject: SUBMIT,
          sequence,
          id: 'poison',
          deliveries: 3,
          reason: 'handler failed on delivery 3 of 3: broken on try 3',
          payload: JSON.stringify(submitMessage('S1')),
          at: expect.any(Number) as number,
        },
      ]);
      await delay(SETTLE_MS);
      expect(got.filter(([id]) => id === 'S1').map(([, count]) => count)).toEqual([1, 2, 3]);
      expect(got.filter(([id]) => id === 'S2')).toEqual([['S2', 1]]);
    });

    it('dead-letters a malformed message at once with the reason, and goes on with the next', async () => {
      const { queue, injectRaw } = await open();
      // Not JSON, then JSON of no known type.
      await injectRaw(SUBMIT, '{"type":"task.submit","repo":"/repo"');
      await injectRaw(SUBMIT, JSON.stringify({ type: 'task.unknown', at: 1 }));
      await queue.enqueue(SUBMIT, submitMessage('S1'));
      const got: string[] = [];
      queue.consume((delivery) => void got.push(idOf(delivery.message)));
      await waitFor('S1', () => got.length === 1);
      let letters = await queue.deadLetters();
      for (let i = 0; i < 100 && letters.length < 2; i++) letters = await delay(20).then(() => queue.deadLetters());
      expect(letters.map((l) => [l.deliveries, l.payload])).toEqual([
        [1, '{"type":"task.submit","repo":"/repo"'],
        [1, JSON.stringify({ type: 'task.unknown', at: 1 })],
      ]);
      expect(letters[0]?.reason).toMatch(/^tandem\.v1\.tasks\.submit: not JSON: /);
      expect(letters[1]?.reason).toBe(
        `${SUBMIT}: invalid submit message: type: Invalid discriminator value. Expected 'task.submit'`,
      );
      expect(got).toEqual(['S1']);
    });

    it('gives the work of a killed consumer to another one after ackWaitMs, and not before', async () => {
      const { queue, peer, kill } = await open();
      const doomed = await peer();
      const taken: Seen[] = [];
      doomed.consume((delivery) => {
        taken.push(seen(delivery));
        return new Promise<void>(() => undefined);
      });
      await queue.enqueue(SUBMIT, submitMessage('S1'));
      await waitFor('the doomed consumer to take S1', () => taken.length === 1);
      await kill(doomed);
      const killedAt = Date.now();
      const got: Array<Seen & { afterMs: number }> = [];
      queue.consume((delivery) => void got.push({ ...seen(delivery), afterMs: Date.now() - killedAt }));
      await waitFor('the redelivery', () => got.length === 1);
      expect(taken.map((s) => [s.id, s.deliveryCount])).toEqual([['S1', 1]]);
      expect(got.map((s) => [s.id, s.deliveryCount, s.sequence])).toEqual([['S1', 2, taken[0]?.sequence]]);
      expect(got[0]?.afterMs).toBeGreaterThanOrEqual(ACK_WAIT_MS / 2);
    });

    it('dead-letters a message whose consumers died on every allowed delivery', async () => {
      const { queue, peer, kill } = await open({ maxDeliveries: 1 });
      const doomed = await peer();
      let taken = 0;
      doomed.consume(() => {
        taken++;
        return new Promise<void>(() => undefined);
      });
      await queue.enqueue(SUBMIT, submitMessage('S1'));
      await waitFor('the doomed consumer to take S1', () => taken === 1);
      await kill(doomed);
      let handled = 0;
      queue.consume(() => void handled++);
      let letters = await queue.deadLetters();
      for (let i = 0; i < 300 && letters.length === 0; i++) letters = await delay(20).then(() => queue.deadLetters());
      expect(letters.map((l) => [l.deliveries, l.reason])).toEqual([
        [2, 'not acknowledged after 1 deliveries: the consumer stopped or crashed while handling it'],
      ]);
      expect(handled).toBe(0);
    });

    it('keeps a message from others while its handler runs longer than ackWaitMs', async () => {
      const { queue, peer } = await open();
      const other = await peer();
      const got: Seen[] = [];
      const slow = async (delivery: WorkDelivery): Promise<void> => {
        got.push(seen(delivery));
        await delay(ACK_WAIT_MS * 2);
      };
      queue.consume(slow);
      other.consume(slow);
      await queue.enqueue(SUBMIT, submitMessage('S1'));
      await delay(ACK_WAIT_MS * 2 + 300);
      expect(got.map((s) => [s.id, s.deliveryCount])).toEqual([['S1', 1]]);
    });

    it('runs at most `concurrency` handlers at once per consumer, and consumers share the work', async () => {
      const { queue, peer } = await open();
      const other = await peer();
      let running = 0;
      let mostAtOnce = 0;
      const byConsumer = { first: [] as string[], second: [] as string[] };
      const handler = (who: keyof typeof byConsumer) => async (delivery: WorkDelivery) => {
        running++;
        mostAtOnce = Math.max(mostAtOnce, running);
        await delay(60);
        running--;
        byConsumer[who].push(idOf(delivery.message));
      };
      const ids = Array.from({ length: 12 }, (_, i) => `S${i}`);
      for (const id of ids) await queue.enqueue(SUBMIT, submitMessage(id));
      queue.consume(handler('first'), { concurrency: 3 });
      other.consume(handler('second'), { concurrency: 1 });
      await waitFor('12 handled', () => byConsumer.first.length + byConsumer.second.length === 12);
      expect([...byConsumer.first, ...byConsumer.second].sort()).toEqual([...ids].sort());
      expect(mostAtOnce).toBeLessThanOrEqual(4);
      expect(mostAtOnce).toBeGreaterThanOrEqual(3);
      expect(byConsumer.second.length).toBeGreaterThan(0);
    });

    it('stop waits for the handlers in flight, acknowledges them, and takes no new work', async () => {
      const { queue, peer } = await open();
      const got: string[] = [];
      let started = 0;
      const consumer = queue.consume(async (delivery) => {
        started++;
        await delay(150);
        got.push(idOf(delivery.message));
      });
      await queue.enqueue(SUBMIT, submitMessage('S1'));
      await waitFor('S1 to start', () => started === 1);
      await consumer.stop();
      expect(got).toEqual(['S1']);
      await queue.enqueue(SUBMIT, submitMessage('S2'));
      await delay(200);
      expect(got).toEqual(['S1']);
      const later = await peer();
      const laterGot: Array<[string, number]> = [];
      later.consume((delivery) => void laterGot.push([idOf(delivery.message), delivery.deliveryCount]));
      await waitFor('S2 by the new consumer', () => laterGot.length === 1);
      await delay(SETTLE_MS);
      expect(laterGot).toEqual([['S2', 1]]);
    });

    it('stop with handBackAfterMs aborts a stuck handler and hands its message to another consumer at once', async () => {
      const { queue, peer } = await open({ ackWaitMs: 5_000 });
      const aborted: string[] = [];
      let started = 0;
      const consumer = queue.consume(
        (delivery) =>
          new Promise<void>((resolve) => {
            started++;
            delivery.signal.addEventListener('abort', () => {
              aborted.push(idOf(delivery.message));
              resolve();
            });
          }),
      );
      await queue.enqueue(SUBMIT, submitMessage('S1'));
      await waitFor('S1 to start', () => started === 1);
      const stoppedAt = Date.now();
      await consumer.stop({ handBackAfterMs: 50 });
      expect(aborted).toEqual(['S1']);
      const other = await peer();
      const got: Array<[string, number]> = [];
      other.consume((delivery) => void got.push([idOf(delivery.message), delivery.deliveryCount]));
      await waitFor('S1 handed back', () => got.length === 1);
      expect(got).toEqual([['S1', 2]]);
      expect(Date.now() - stoppedAt).toBeLessThan(2_500);
    });

    it('close stops the consumers; then enqueue rejects with StoreError("unavailable"), and a second close is harmless', async () => {
      const { queue } = await open();
      const got: string[] = [];
      queue.consume((delivery) => void got.push(idOf(delivery.message)));
      await queue.enqueue(SUBMIT, submitMessage('S1'));
      await waitFor('S1', () => got.length === 1);
      await queue.close();
      await queue.close();
      const enqueuing = queue.enqueue(SUBMIT, submitMessage('S2'));
      await expect(enqueuing).rejects.toThrow(StoreError);
      await expect(enqueuing).rejects.toMatchObject({ code: 'unavailable' });
      expect(() => queue.consume(() => undefined)).toThrow(StoreError);
    });
  });
}
