import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../store/store.js';
import { StoreError } from '../platform/errors.js';

export interface StoreUnderTest {
  /** A store with no keys. */
  readonly store: Store;
  /** Closes the store (again, if a test already did) and frees whatever the factory created. */
  cleanup(): Promise<void>;
}

export type StoreFactory = () => Promise<StoreUnderTest>;

const WRITERS = 20;
const MAX_TRIES_PER_WRITER = 200;

/**
 * The one suite every Store implementation must pass (memory, files, NATS KV), in the style of
 * langgraphjs checkpoint-validation. It uses only the Store port. Revisions are only asserted
 * exactly where NATS KV (whose revisions are one sequence per bucket) gives the same numbers as a
 * per-key counter: one key in a fresh store. Elsewhere they are asserted to grow.
 *
 * Beyond what store.ts spells out, it pins: values are JSON (a non-JSON value is a TypeError), a
 * re-created key gets a revision above the one before its delete, and a closed store rejects with
 * StoreError('unavailable').
 */
export function describeStoreConformance(name: string, factory: StoreFactory): void {
  describe(`Store conformance: ${name}`, () => {
    let underTest: StoreUnderTest | undefined;
    let store: Store;

    beforeEach(async () => {
      underTest = await factory();
      store = underTest.store;
    });

    afterEach(async () => {
      await underTest?.cleanup();
      underTest = undefined;
    });

    const expectConflict = async (operation: Promise<unknown>): Promise<void> => {
      const error: unknown = await operation.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(StoreError);
      expect(error).toMatchObject({ code: 'conflict', retryable: true });
    };

    it('returns undefined for a key that was never written', async () => {
      expect(await store.get('tasks.missing')).toBeUndefined();
    });

    it('round-trips values with revisions 1, 2, 3', async () => {
      expect(await store.put('tasks.A', { step: 1 })).toBe(1);
      expect(await store.get('tasks.A')).toEqual({ key: 'tasks.A', value: { step: 1 }, revision: 1 });
      expect(await store.put('tasks.A', { step: 2 })).toBe(2);
      expect(await store.put('tasks.A', ['three', 3, null, true])).toBe(3);
      expect(await store.get('tasks.A')).toEqual({ key: 'tasks.A', value: ['three', 3, null, true], revision: 3 });
    });

    it('writes when expectedRevision matches', async () => {
      const first = await store.put('tasks.A', 'first');
      const second = await store.put('tasks.A', 'second', { expectedRevision: first });
      expect(second).toBeGreaterThan(first);
      expect(await store.get('tasks.A')).toEqual({ key: 'tasks.A', value: 'second', revision: second });
    });

    it('refuses a stale expectedRevision with StoreError("conflict") and keeps the value', async () => {
      const first = await store.put('tasks.A', 'first');
      const second = await store.put('tasks.A', 'second');
      await expectConflict(store.put('tasks.A', 'lost update', { expectedRevision: first }));
      await expectConflict(store.put('tasks.missing', 'x', { expectedRevision: first }));
      expect(await store.get('tasks.A')).toEqual({ key: 'tasks.A', value: 'second', revision: second });
      expect(await store.get('tasks.missing')).toBeUndefined();
    });

    it('creates only when the key does not exist with expectedRevision 0', async () => {
      const created = await store.put('tasks.A', 'created', { expectedRevision: 0 });
      await expectConflict(store.put('tasks.A', 'again', { expectedRevision: 0 }));
      expect(await store.get('tasks.A')).toEqual({ key: 'tasks.A', value: 'created', revision: created });
    });

    it('deletes a key; deleting a missing key does nothing', async () => {
      await store.put('tasks.A', 'a');
      await store.put('tasks.B', 'b');
      await store.delete('tasks.A');
      await store.delete('tasks.A');
      await store.delete('tasks.never');
      expect(await store.get('tasks.A')).toBeUndefined();
      expect((await store.list('tasks')).map((e) => e.key)).toEqual(['tasks.B']);
    });

    it('deletes with expectedRevision only at that revision', async () => {
      const first = await store.put('tasks.A', 'a');
      const second = await store.put('tasks.A', 'b');
      await expectConflict(store.delete('tasks.A', { expectedRevision: first }));
      expect(await store.get('tasks.A')).toEqual({ key: 'tasks.A', value: 'b', revision: second });
      await store.delete('tasks.A', { expectedRevision: second });
      expect(await store.get('tasks.A')).toBeUndefined();
    });

    it('re-creates a deleted key above its old revision, so a stale writer still conflicts', async () => {
      const before = await store.put('tasks.A', 'old');
      await store.delete('tasks.A');
      const recreated = await store.put('tasks.A', 'new', { expectedRevision: 0 });
      expect(recreated).toBeGreaterThan(before);
      await expectConflict(store.put('tasks.A', 'stale', { expectedRevision: before }));
      expect(await store.get('tasks.A')).toEqual({ key: 'tasks.A', value: 'new', revision: recreated });
    });

    it('lists the prefix key and the keys below it, in key order', async () => {
      const keys = ['tasks.a', 'tasks2.x', 'tasks.B.x', 'task.y', 'other.tasks', 'tasks', 'tasks.B', 'tasksB'];
      const revisions = new Map<string, number>();
      for (const key of keys) revisions.set(key, await store.put(key, { key }));
      const listed = await store.list('tasks');
      expect(listed).toEqual(['tasks', 'tasks.B', 'tasks.B.x', 'tasks.a'].map((key) => ({ key, value: { key }, revision: revisions.get(key) })));
      expect((await store.list('tasks.B')).map((e) => e.key)).toEqual(['tasks.B', 'tasks.B.x']);
      expect(await store.list('nothing')).toEqual([]);
    });

    it('stores copies: changing a value after put or after get changes nothing stored', async () => {
      const value = { nested: { list: [1, 2] } };
      await store.put('tasks.A', value);
      value.nested.list.push(3);
      const got = await store.get('tasks.A');
      (got?.value as typeof value).nested.list.push(4);
      const listed = await store.list('tasks');
      (listed[0]?.value as typeof value).nested.list.push(5);
      expect((await store.get('tasks.A'))?.value).toEqual({ nested: { list: [1, 2] } });
    });

    it('stores values as JSON: a value JSON cannot hold is a TypeError', async () => {
      await expect(store.put('tasks.A', undefined)).rejects.toThrow(TypeError);
      await expect(store.put('tasks.A', { big: 1n })).rejects.toThrow(TypeError);
      expect(await store.put('tasks.A', { dropped: undefined, kept: 1 })).toBeGreaterThan(0);
      expect((await store.get('tasks.A'))?.value).toEqual({ kept: 1 });
    });

    it('lets exactly one of 20 concurrent writers win a revision', async () => {
      const start = await store.put('tasks.counter', 0);
      const results = await Promise.allSettled(range(WRITERS).map((i) => store.put('tasks.counter', i + 1, { expectedRevision: start })));
      const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i + 1] : []));
      const losers = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
      expect(winners).toHaveLength(1);
      expect(losers).toHaveLength(WRITERS - 1);
      for (const loser of losers) expect(loser).toMatchObject({ name: 'StoreError', code: 'conflict' });
      expect((await store.get('tasks.counter'))?.value).toBe(winners[0]);
    });

    it('loses no increment when 20 writers race with read-modify-CAS', async () => {
      await store.put('tasks.counter', 0);
      const increment = async (): Promise<number> => {
        for (let tries = 0; tries < MAX_TRIES_PER_WRITER; tries++) {
          const current = await store.get('tasks.counter');
          if (current === undefined) throw new Error('counter vanished');
          try {
            return await store.put('tasks.counter', (current.value as number) + 1, { expectedRevision: current.revision });
          } catch (error) {
            if (!(error instanceof StoreError && error.code === 'conflict')) throw error;
          }
        }
        throw new Error(`no write succeeded in ${MAX_TRIES_PER_WRITER} tries`);
      };
      const revisions = await Promise.all(range(WRITERS).map(increment));
      expect(new Set(revisions).size).toBe(WRITERS);
      expect(await store.get('tasks.counter')).toEqual({ key: 'tasks.counter', value: WRITERS, revision: Math.max(...revisions) });
    });

    it('rejects invalid keys with a TypeError on every operation', async () => {
      for (const key of ['', 'has space', 'a..b', '.a', 'a.', 'a.*', 'a.>', 'dir/file', 'ü']) {
        await expect(store.get(key), key).rejects.toThrow(TypeError);
        await expect(store.put(key, 1), key).rejects.toThrow(TypeError);
        await expect(store.delete(key), key).rejects.toThrow(TypeError);
        await expect(store.list(key), key).rejects.toThrow(TypeError);
      }
    });

    it('rejects every operation with StoreError("unavailable") once closed', async () => {
      await store.put('tasks.A', 1);
      await store.close();
      await store.close();
      const operations = [() => store.get('tasks.A'), () => store.put('tasks.A', 2), () => store.delete('tasks.A'), () => store.list('tasks')];
      for (const operation of operations) {
        await expect(operation()).rejects.toMatchObject({ name: 'StoreError', code: 'unavailable' });
      }
    });
  });
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
