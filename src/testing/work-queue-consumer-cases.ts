import { expect, it } from 'vitest';
import type { WorkDelivery } from '../queue/work-queue.js';
import { StoreError } from '../platform/errors.js';
import { submitMessage } from './bus-conformance.js';
import { ACK_WAIT_MS, SETTLE_MS, SUBMIT, delay, idOf, seen, waitFor, type OpenQueue, type Seen } from './work-queue-kit.js';

/**
 * WorkQueue conformance, part two: consumers. Work of a killed consumer goes to another after
 * ackWaitMs, a long handler keeps its message, concurrency is bounded, stop and close hand back or
 * finish what is in flight.
 */
export function describeConsumerCases(open: OpenQueue): void {
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
}
