import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../platform/clock.js';
import { StoreError } from '../platform/errors.js';
import type { Store } from '../store/store.js';
import type { Logger } from '../telemetry/logger.js';

const MarkerSchema = z.object({ owner: z.string(), expiresAt: z.number() });

const RUNNING_PREFIX = 'running';
export function runningKey(callKey: string): string {
  return `${RUNNING_PREFIX}.${callKey}`;
}

export interface CallMarkersOptions {
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  /** A marker not renewed for this long belongs to a replica that died: another may run the call. */
  readonly ttlMs: number;
}

export interface CallMarkers {
  /**
   * `claimed`: this replica runs the call now (the marker is renewed until `release`); `elsewhere`:
   * a live replica runs it. A marker whose holder stopped renewing is taken over.
   */
  claim(callKey: string): Promise<'claimed' | 'elsewhere'>;
  release(callKey: string): Promise<void>;
  close(): void;
}

/**
 * "A call is running" as a record in the shared store, beside its stored result: together they
 * decide whether a delivery runs, whatever the time between two sends of a call (JetStream's
 * duplicate window only covers two minutes). Revision-checked, renewed at a third of the ttl.
 */
export function createCallMarkers(options: CallMarkersOptions): CallMarkers {
  const { store, clock, logger, ttlMs } = options;
  const owner = randomUUID();
  const held = new Map<string, number>();

  const write = async (callKey: string, expectedRevision: number): Promise<boolean> => {
    try {
      held.set(callKey, await store.put(runningKey(callKey), { owner, expiresAt: clock.now() + ttlMs }, { expectedRevision }));
      return true;
    } catch (error) {
      if (error instanceof StoreError && error.code === 'conflict') return false;
      throw error;
    }
  };

  const timer = setInterval(
    () => {
      for (const [callKey, revision] of [...held]) {
        void write(callKey, revision)
          .then((ok) => {
            if (!ok) logger.warn({ key: callKey }, `the running marker of call ${callKey} was taken by another replica (this one was too slow to renew it)`);
          })
          .catch((error: unknown) => logger.warn({ err: error, key: callKey }, 'could not renew a running marker; trying again'));
      }
    },
    Math.max(10, Math.floor(ttlMs / 3)),
  );
  timer.unref();

  return {
    async claim(callKey) {
      const entry = await store.get(runningKey(callKey));
      if (entry === undefined) return (await write(callKey, 0)) ? 'claimed' : 'elsewhere';
      const marker = MarkerSchema.safeParse(entry.value);
      if (marker.success && marker.data.owner !== owner && marker.data.expiresAt > clock.now()) return 'elsewhere';
      return (await write(callKey, entry.revision)) ? 'claimed' : 'elsewhere';
    },
    async release(callKey) {
      const revision = held.get(callKey);
      if (revision === undefined) return;
      held.delete(callKey);
      await store.delete(runningKey(callKey), { expectedRevision: revision }).catch(() => undefined);
    },
    close() {
      clearInterval(timer);
    },
  };
}
