import { expect, it } from 'vitest';
import type { BusMessage } from '../model/task-events.js';
import { subject } from '../bus/subjects.js';
import { submitMessage } from './bus-conformance.js';
import { SETTLE_MS, SUBMIT, delay, idOf, seen, waitFor, type OpenQueue, type Seen } from './work-queue-kit.js';

/**
 * WorkQueue conformance, part one: what enqueue stores and how a message is delivered, redelivered
 * after a failing handler, and dead-lettered (poison or malformed).
 */
export function describeDeliveryCases(open: OpenQueue): void {
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

  it('hands the producer’s headers (a W3C traceparent) to the consumer with the message, and none where none were given', async () => {
    const { queue } = await open();
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await queue.enqueue(SUBMIT, submitMessage('S1'), { id: 'with-headers', headers: { traceparent, tracestate: 'tandem=1' } });
    await queue.enqueue(SUBMIT, submitMessage('S2'));
    const got: Array<[string, Readonly<Record<string, string>>]> = [];
    queue.consume((delivery) => void got.push([idOf(delivery.message), delivery.headers ?? {}]));
    await waitFor('2 deliveries', () => got.length === 2);
    expect(got).toEqual([
      ['S1', { traceparent, tracestate: 'tandem=1' }],
      ['S2', {}],
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
    expect(letters[1]?.reason).toBe(`${SUBMIT}: invalid submit message: type: Invalid discriminator value. Expected 'task.submit'`);
    expect(got).toEqual(['S1']);
  });
}
