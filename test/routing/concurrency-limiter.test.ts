import { describe, expect, it } from 'vitest';
import { createConcurrencyLimiter } from '../../src/routing/concurrency-limiter.js';

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('per-model concurrency limiter', () => {
  it('lets `limit` calls in per model, queues the rest first come first served', async () => {
    const limiter = createConcurrencyLimiter((key) => (key === 'opus' ? 1 : 2));
    const signal = new AbortController().signal;
    const order: string[] = [];
    const a = await limiter.acquire('opus', signal);
    const b = limiter.acquire('opus', signal).then((release) => (order.push('b'), release));
    const c = limiter.acquire('opus', signal).then((release) => (order.push('c'), release));
    const other = await limiter.acquire('flash', signal);
    await tick();
    expect([limiter.inFlight('opus'), limiter.waiting('opus'), limiter.inFlight('flash')]).toEqual([1, 2, 1]);
    expect(order).toEqual([]);
    a();
    a(); // a second release of the same slot changes nothing
    const releaseB = await b;
    expect(order).toEqual(['b']);
    expect([limiter.inFlight('opus'), limiter.waiting('opus')]).toEqual([1, 1]);
    releaseB();
    (await c)();
    other();
    expect([limiter.inFlight('opus'), limiter.waiting('opus'), limiter.inFlight('flash')]).toEqual([0, 0, 0]);
  });

  it('a waiter whose signal aborts leaves the queue and is rejected', async () => {
    const limiter = createConcurrencyLimiter(() => 1);
    const held = await limiter.acquire('m', new AbortController().signal);
    const controller = new AbortController();
    const waiting = limiter.acquire('m', controller.signal);
    expect(limiter.waiting('m')).toBe(1);
    controller.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    expect(limiter.waiting('m')).toBe(0);
    held();
    expect(limiter.inFlight('m')).toBe(0);
  });
});
