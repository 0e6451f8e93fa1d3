import { StoreError } from '../platform/errors.js';
import { assertKey } from './store.js';
import type { PutOptions, Store, StoreEntry } from './store.js';
import { checkExpectedRevision, compareKeys, keyHasPrefix, serializeValue } from './store-values.js';

/** A deleted key keeps its revision so that a re-created key never repeats an old one (no ABA). */
interface Slot {
  readonly json: string | undefined;
  readonly revision: number;
}

interface LiveSlot extends Slot {
  readonly json: string;
}

/** The embedded-mode Store for tests and single-process runs that need no durability. */
export function createMemoryStore(): Store {
  const slots = new Map<string, Slot>();
  let closed = false;

  /** Runs `fn` so that a bad key or a conflict becomes a rejection, never a synchronous throw. */
  const op = <T>(key: string, fn: () => T): Promise<T> =>
    new Promise<T>((resolve) => {
      assertKey(key);
      if (closed) throw new StoreError('unavailable', 'the memory store is closed');
      resolve(fn());
    });

  const live = (key: string): LiveSlot | undefined => {
    const slot = slots.get(key);
    return slot?.json === undefined ? undefined : { json: slot.json, revision: slot.revision };
  };

  const entry = (key: string, slot: LiveSlot): StoreEntry => ({ key, value: JSON.parse(slot.json) as unknown, revision: slot.revision });

  return {
    get: (key) =>
      op(key, () => {
        const slot = live(key);
        return slot === undefined ? undefined : entry(key, slot);
      }),

    put: (key, value, options?: PutOptions) =>
      op(key, () => {
        const json = serializeValue(key, value);
        checkExpectedRevision(key, live(key)?.revision, options);
        const revision = (slots.get(key)?.revision ?? 0) + 1;
        slots.set(key, { json, revision });
        return revision;
      }),

    delete: (key, options?: PutOptions) =>
      op(key, () => {
        const current = live(key);
        checkExpectedRevision(key, current?.revision, options);
        if (current) slots.set(key, { json: undefined, revision: current.revision + 1 });
      }),

    list: (prefix) =>
      op(prefix, () => {
        const keys = [...slots.keys()].filter((key) => keyHasPrefix(key, prefix)).sort(compareKeys);
        return keys.flatMap((key) => {
          const slot = live(key);
          return slot === undefined ? [] : [entry(key, slot)];
        });
      }),

    close(): Promise<void> {
      closed = true;
      return Promise.resolve();
    },
  };
}
