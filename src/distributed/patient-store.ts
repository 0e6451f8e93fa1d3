import { isDeepStrictEqual } from 'node:util';
import type { PutOptions, Store, StoreEntry } from '../store/store.js';
import type { Clock } from '../platform/clock.js';
import { StoreError } from '../platform/errors.js';
import { untilAvailable } from './until-available.js';

export interface PatientStoreOptions {
  readonly clock: Clock;
  /** How long one operation keeps trying while the store is unavailable. */
  readonly limitMs: number;
}

/**
 * A Store that rides out a short outage (NATS restarting): an operation that fails as unavailable
 * is tried again with growing waits, up to `limitMs`. A timed-out write may still have landed, so a
 * revision conflict on a retry is checked: when the stored value is the one being written, the
 * write did land, and its revision is the answer.
 */
export function patientStore(inner: Store, options: PatientStoreOptions): Store {
  const { clock, limitMs } = options;
  const patiently = <T>(op: (retrying: boolean) => Promise<T>): Promise<T> => untilAvailable(op, clock, limitMs);
  return {
    get: (key) => patiently(() => inner.get(key)),
    list: (prefix) => patiently(() => inner.list(prefix)),
    put: (key, value, putOptions?: PutOptions) =>
      patiently(async (retrying) => {
        try {
          return await inner.put(key, value, putOptions);
        } catch (error) {
          if (!(retrying && error instanceof StoreError && error.code === 'conflict')) throw error;
          const now: StoreEntry | undefined = await inner.get(key);
          if (now !== undefined && isDeepStrictEqual(now.value, JSON.parse(JSON.stringify(value)))) return now.revision;
          throw error;
        }
      }),
    delete: (key, deleteOptions) =>
      patiently(async (retrying) => {
        try {
          await inner.delete(key, deleteOptions);
        } catch (error) {
          // Gone already: the timed-out delete did land.
          if (retrying && error instanceof StoreError && (error.code === 'not_found' || error.code === 'conflict') && (await inner.get(key)) === undefined)
            return;
          throw error;
        }
      }),
    close: () => inner.close(),
  };
}
