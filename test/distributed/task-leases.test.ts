import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../src/store/memory-store.js';
import type { Store } from '../../src/store/store.js';
import { StoreError } from '../../src/platform/errors.js';
import { createTaskLeases, leaseKey, type TaskLeases } from '../../src/distributed/task-leases.js';
import { serviceId } from '../../src/cli/serve-options.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { manualClock } from '../helpers/manual-clock.js';

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

function leases(store: Store, owner: string, clock = manualClock(10_000), lost: string[] = []): TaskLeases {
  const l = createTaskLeases({ store, owner, ttlMs: 60_000, clock, logger: silentLogger(), onLost: (id) => lost.push(id) });
  stops.push(() => l.close());
  return l;
}

/** A store whose next `n` puts land but answer with a timeout, as a write lost on its way back does. */
function landingButTimingOut(inner: Store): Store & { timeOutNext(n: number): void } {
  let failing = 0;
  return {
    ...inner,
    async put(key, value, options) {
      const revision = await inner.put(key, value, options);
      if (failing > 0) {
        failing--;
        throw new StoreError('unavailable', 'timed out');
      }
      return revision;
    },
    timeOutNext: (n) => void (failing = n),
  };
}

describe('task leases: writes whose answer was lost', () => {
  it('a renewal that timed out but landed does not make the next renewal conclude "taken over"', async () => {
    const store = landingButTimingOut(createMemoryStore());
    const clock = manualClock(10_000);
    const lost: string[] = [];
    const a = leases(store, 'a', clock, lost);
    expect(await a.claim('T1')).toBe(true);
    store.timeOutNext(2);
    await expect(a.claim('T1')).rejects.toMatchObject({ code: 'unavailable' });
    clock.advance(10);
    await expect(a.claim('T1')).rejects.toMatchObject({ code: 'unavailable' });
    clock.advance(10);
    // The store is at a revision this supervisor never heard of, holding one of its own writes.
    expect(await a.claim('T1')).toBe(true);
    expect(a.held()).toEqual(['T1']);
    expect(lost).toEqual([]);
    expect(await store.get(leaseKey('T1'))).toMatchObject({ value: { owner: 'a', expiresAt: 10_020 + 60_000 } });
  });

  it('still concludes "taken over" when the stored lease is another supervisor\'s', async () => {
    const store = landingButTimingOut(createMemoryStore());
    const a = leases(store, 'a');
    expect(await a.claim('T1')).toBe(true);
    store.timeOutNext(1);
    await expect(a.claim('T1')).rejects.toMatchObject({ code: 'unavailable' });
    await store.put(leaseKey('T1'), { owner: 'b', expiresAt: Number.MAX_SAFE_INTEGER });
    expect(await a.claim('T1')).toBe(false);
  });

  it("tells a never-leased task from its own lease of an earlier run, a dead supervisor's and a live one's", async () => {
    const store = createMemoryStore();
    const clock = manualClock(10_000);
    const a = leases(store, 'a', clock);
    expect(await a.status('T1')).toEqual({ kind: 'none' });
    await store.put(leaseKey('T2'), { owner: 'a', expiresAt: clock.now() + 60_000 });
    expect(await a.status('T2')).toEqual({ kind: 'mine' });
    // A restart under the same id takes its own live lease back at once.
    expect(await a.claim('T2')).toBe(true);
    await store.put(leaseKey('T3'), { owner: 'b', expiresAt: clock.now() + 5 });
    expect(await a.status('T3')).toEqual({ kind: 'held', owner: 'b' });
    clock.advance(6);
    expect(await a.status('T3')).toEqual({ kind: 'expired', owner: 'b' });
  });
});

describe('serve --id', () => {
  it('defaults to POD_NAME, then HOSTNAME, then the host name: stable across restarts', () => {
    expect(serviceId('sup-1', { POD_NAME: 'p' })).toBe('sup-1');
    expect(serviceId(undefined, { POD_NAME: 'tandem-supervisor-0', HOSTNAME: 'h' })).toBe('tandem-supervisor-0');
    expect(serviceId(undefined, { HOSTNAME: 'c0ffee' })).toBe('c0ffee');
    expect(serviceId(undefined, {})).not.toMatch(/-\d+$/);
  });
});
