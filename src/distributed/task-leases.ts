import { z } from 'zod';
import type { Store } from '../store/store.js';
import type { Clock } from '../platform/clock.js';
import { StoreError } from '../platform/errors.js';
import type { TaskOwnership } from '../runtime/task-outcome.js';
import type { Logger } from '../telemetry/logger.js';

const LeaseSchema = z.object({ owner: z.string(), expiresAt: z.number() });
type Lease = z.infer<typeof LeaseSchema>;

const LEASES_PREFIX = 'leases';
export function leaseKey(taskId: string): string {
  return `${LEASES_PREFIX}.${taskId}`;
}

export interface TaskLeasesOptions {
  readonly store: Store;
  /** This supervisor's name: unique among the supervisors sharing the store. */
  readonly owner: string;
  /** A lease not renewed for this long is free for another supervisor to take. */
  readonly ttlMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
  /** A lease this supervisor held was taken by another one (it stopped renewing in time). */
  readonly onLost: (taskId: string) => void;
}

/**
 * Who holds a task's lease: `mine` (held here, or stored under this supervisor's id by an earlier
 * run of it), `none` (never leased: a task nobody has driven yet), `expired` (its holder stopped
 * renewing), `held` (another supervisor's live lease).
 */
export type LeaseStatus = { readonly kind: 'mine' | 'none' } | { readonly kind: 'expired' | 'held'; readonly owner: string };

export interface TaskLeases extends TaskOwnership {
  /** Whether a task has no live lease, or one of ours. */
  isFree(taskId: string): Promise<boolean>;
  status(taskId: string): Promise<LeaseStatus>;
  held(): string[];
  /**
   * Whether this supervisor drives the task: it holds its lease, or released it within the last
   * minute (the task's last events, e.g. task.finished, come back over NATS after the release).
   * A lease lost to another supervisor is not ours: that one counts what follows.
   */
  holds(taskId: string): boolean;
  /** Stops renewing and releases every lease held, so that other supervisors take over at once. */
  close(): Promise<void>;
}

/**
 * "A task is driven by exactly one supervisor at a time": a lease per task in the shared store,
 * every write revision-checked, renewed at a third of its ttl. The task record's own revision
 * checks stay the last line: a supervisor that lost its lease without noticing fails its next
 * write and stops.
 */
export function createTaskLeases(options: TaskLeasesOptions): TaskLeases {
  const { store, owner, ttlMs, clock, logger } = options;
  const held = new Map<string, { revision: number; renewedAt: number }>();
  /** Leases released cleanly, by time: the events of a finished task still arrive after the release. */
  const released = new Map<string, number>();
  const RELEASED_KEPT_MS = 60_000;
  /** Expiries written by writes whose answer never came (a timeout): such a write may have landed. */
  const unanswered = new Map<string, Set<number>>();
  let closed = false;

  async function read(taskId: string): Promise<{ lease: Lease | undefined; revision: number }> {
    const entry = await store.get(leaseKey(taskId));
    if (entry === undefined) return { lease: undefined, revision: 0 };
    const parsed = LeaseSchema.safeParse(entry.value);
    // A torn or foreign value protects nothing: it can be overwritten at its revision.
    return { lease: parsed.success ? parsed.data : undefined, revision: entry.revision };
  }

  async function write(taskId: string, expectedRevision: number): Promise<boolean> {
    const now = clock.now();
    const value: Lease = { owner, expiresAt: now + ttlMs };
    try {
      const revision = await store.put(leaseKey(taskId), value, { expectedRevision });
      held.set(taskId, { revision, renewedAt: now });
      unanswered.delete(taskId);
      return true;
    } catch (error) {
      if (error instanceof StoreError && error.code === 'conflict') return landedEarlier(taskId);
      const sent = unanswered.get(taskId) ?? new Set<number>();
      sent.add(value.expiresAt);
      unanswered.set(taskId, sent);
      throw error;
    }
  }

  /**
   * A conflict after a write that got no answer: if the stored lease is one of those writes (ours,
   * with an expiry we sent), the write landed and the lease is still ours at that revision; anything
   * else means another supervisor wrote it.
   */
  async function landedEarlier(taskId: string): Promise<boolean> {
    const sent = unanswered.get(taskId);
    if (sent === undefined) return false;
    const { lease, revision } = await read(taskId);
    if (lease === undefined || lease.owner !== owner || !sent.has(lease.expiresAt)) return false;
    unanswered.delete(taskId);
    const mine = held.get(taskId);
    held.set(taskId, { revision, renewedAt: mine?.renewedAt ?? clock.now() });
    // Renew from the landed revision, so the lease runs its full ttl from now.
    return write(taskId, revision);
  }

  const lose = (taskId: string, why: string): void => {
    held.delete(taskId);
    released.delete(taskId);
    logger.warn({ task: taskId, owner }, `lost the lease of task ${taskId}: ${why}; another supervisor drives it now`);
    options.onLost(taskId);
  };

  async function renewAll(): Promise<void> {
    for (const [taskId, mine] of [...held]) {
      if (closed) return;
      try {
        if (!(await write(taskId, mine.revision))) lose(taskId, 'it was taken over');
      } catch (error) {
        // Unreachable store: keep driving while the lease may still be ours, stop when it cannot be.
        if (clock.now() - mine.renewedAt >= ttlMs) lose(taskId, 'it could not be renewed before it expired');
        else logger.warn({ err: error, task: taskId }, 'could not renew a task lease; trying again');
      }
    }
  }

  const timer = setInterval(
    () => {
      void renewAll().catch((error: unknown) => logger.warn({ err: error }, 'renewing leases failed'));
    },
    Math.max(10, Math.floor(ttlMs / 3)),
  );
  timer.unref();

  return {
    async claim(taskId) {
      if (closed) return false;
      const mine = held.get(taskId);
      if (mine !== undefined) return write(taskId, mine.revision);
      const { lease, revision } = await read(taskId);
      if (lease !== undefined && lease.owner !== owner && lease.expiresAt > clock.now()) return false;
      return write(taskId, revision);
    },

    async release(taskId) {
      const mine = held.get(taskId);
      if (mine === undefined) return;
      held.delete(taskId);
      const now = clock.now();
      released.set(taskId, now);
      for (const [id, at] of released) if (now - at > RELEASED_KEPT_MS) released.delete(id);
      unanswered.delete(taskId);
      try {
        await store.delete(leaseKey(taskId), { expectedRevision: mine.revision });
      } catch (error) {
        // Already taken over (conflict) or gone: nothing of ours to release.
        if (!(error instanceof StoreError && (error.code === 'conflict' || error.code === 'not_found'))) throw error;
      }
    },

    async isFree(taskId) {
      const status = await this.status(taskId);
      return status.kind !== 'held';
    },

    async status(taskId) {
      if (held.has(taskId)) return { kind: 'mine' };
      const { lease } = await read(taskId);
      if (lease === undefined) return { kind: 'none' };
      if (lease.owner === owner) return { kind: 'mine' };
      return { kind: lease.expiresAt <= clock.now() ? 'expired' : 'held', owner: lease.owner };
    },

    held: () => [...held.keys()],

    holds(taskId) {
      if (held.has(taskId)) return true;
      const at = released.get(taskId);
      return at !== undefined && clock.now() - at <= RELEASED_KEPT_MS;
    },

    async close() {
      closed = true;
      clearInterval(timer);
      for (const taskId of [...held.keys()]) {
        await this.release(taskId).catch((error: unknown) => logger.warn({ err: error, task: taskId }, 'could not release a lease'));
      }
    },
  };
}
