import { errorMessage } from '../platform/errors.js';
import { decodeMessage } from '../bus/codec.js';
import { subjectMatches } from '../bus/subjects.js';
import { DEAD_LETTERS_KEPT } from './work-queue.js';
import type { DeadLetter, EnqueueResult, StopOptions, WorkHandler, WorkQueueHooks, WorkQueueSpec } from './work-queue.js';

/**
 * The shared heart of the in-memory work queue: the stored messages, their leases and deliveries,
 * deduplication by id, and the dead-letter log. Every client (`peer()`) of one queue talks to the
 * same engine, as every process talks to the same JetStream stream; memory-work-queue.ts is the
 * per-client view.
 */

interface Lease {
  readonly client: Client;
  handedBack: boolean;
}

interface Running {
  readonly lease: Lease;
  readonly controller: AbortController;
  settled: Promise<void>;
}

interface Entry {
  readonly sequence: number;
  readonly subject: string;
  readonly data: Uint8Array;
  readonly id: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  deliveries: number;
  readyAt: number;
  lease: Lease | undefined;
}

/** One consume() call: its handler and the messages it holds right now. */
export interface Slot {
  readonly client: Client;
  readonly concurrency: number;
  readonly handler: WorkHandler;
  readonly running: Map<Entry, Running>;
  stopping: boolean;
}

/** One view of the queue (createMemoryWorkQueue or peer()), standing for one process. */
export interface Client {
  readonly hooks: WorkQueueHooks;
  readonly slots: Set<Slot>;
  dead: boolean;
  closed: boolean;
}

const textDecoder = new TextDecoder();

/** What a client view uses of the engine. */
interface MemoryQueueEngine {
  readonly clients: Set<Client>;
  /** The dead-letter log, oldest first, at most DEAD_LETTERS_KEPT long. */
  readonly dead: readonly DeadLetter[];
  /** Whether a subject belongs to this queue (its subjects, narrowed by the consumer's filter). */
  readonly takes: (subj: string) => boolean;
  /** Stores a message unless its id was seen within the duplicate window. */
  readonly store: (subj: string, data: Uint8Array, id: string | undefined, headers?: Readonly<Record<string, string>>) => EnqueueResult;
  /** Runs a delivery round soon, never inside the caller's stack. */
  readonly schedule: () => void;
  /** Ends a message's lease; it is delivered again after `delayMs`. */
  readonly release: (entry: Entry, delayMs: number) => void;
  readonly stopSlot: (slot: Slot, options?: StopOptions) => Promise<void>;
}

export function createMemoryQueueEngine(spec: WorkQueueSpec): MemoryQueueEngine {
  const entries: Entry[] = [];
  const recentIds = new Map<string, { readonly sequence: number; readonly at: number }>();
  const dead: DeadLetter[] = [];
  const clients = new Set<Client>();
  let nextSequence = 1;
  let turn = 0;
  let wakeTimer: NodeJS.Timeout | undefined;
  let wakeAt = Infinity;
  const takes = (subj: string): boolean => subjectMatches(spec.filter ?? '>', subj) && spec.subjects.some((s) => subjectMatches(s, subj));

  const report = (client: Client, error: unknown, entry?: Entry): void => {
    try {
      if (client.hooks.onError) client.hooks.onError(error, entry ? { subject: entry.subject, sequence: entry.sequence } : {});
      else process.emitWarning(`work queue ${spec.stream}/${spec.consumer}: ${errorMessage(error)}`);
    } catch (hookError) {
      process.emitWarning(`work queue onError hook failed: ${errorMessage(hookError)}`);
    }
  };

  const remove = (entry: Entry): void => {
    const index = entries.indexOf(entry);
    if (index >= 0) entries.splice(index, 1);
  };

  const deadLetter = (client: Client, entry: Entry, reason: string): void => {
    remove(entry);
    const letter: DeadLetter = {
      subject: entry.subject,
      sequence: entry.sequence,
      ...(entry.id === undefined ? {} : { id: entry.id }),
      deliveries: entry.deliveries,
      reason,
      payload: textDecoder.decode(entry.data),
      at: Date.now(),
    };
    dead.push(letter);
    if (dead.length > DEAD_LETTERS_KEPT) dead.splice(0, dead.length - DEAD_LETTERS_KEPT);
    try {
      client.hooks.onDeadLetter?.(letter);
    } catch (hookError) {
      process.emitWarning(`work queue onDeadLetter hook failed: ${errorMessage(hookError)}`);
    }
  };

  const release = (entry: Entry, delayMs: number): void => {
    entry.lease = undefined;
    entry.readyAt = Date.now() + delayMs;
    schedule();
  };

  const freeSlots = (): Slot[] => {
    const slots: Slot[] = [];
    for (const client of clients) {
      if (client.dead || client.closed) continue;
      for (const slot of client.slots) if (!slot.stopping && slot.running.size < slot.concurrency) slots.push(slot);
    }
    return slots;
  };

  /** Hands every ready message to a free handler, in sequence order, taking consumers in turn. */
  const pump = (): void => {
    const now = Date.now();
    for (const entry of [...entries]) {
      if (entry.lease !== undefined || entry.readyAt > now) continue;
      const slots = freeSlots();
      if (slots.length === 0) break;
      const slot = slots[turn++ % slots.length];
      if (slot) deliver(slot, entry);
    }
    const next = Math.min(...entries.filter((e) => e.lease === undefined && e.readyAt > now).map((e) => e.readyAt));
    if (Number.isFinite(next) && next < wakeAt) {
      clearTimeout(wakeTimer);
      wakeAt = next;
      wakeTimer = setTimeout(() => {
        wakeAt = Infinity;
        pump();
      }, next - now);
    }
  };

  /** Never inside the caller's stack, as a message from the network would not be. */
  let pumpQueued = false;
  const schedule = (): void => {
    if (pumpQueued) return;
    pumpQueued = true;
    setImmediate(() => {
      pumpQueued = false;
      pump();
    });
  };

  const deliver = (slot: Slot, entry: Entry): void => {
    const client = slot.client;
    entry.deliveries++;
    if (entry.deliveries > spec.maxDeliveries) {
      deadLetter(client, entry, `not acknowledged after ${spec.maxDeliveries} deliveries: the consumer stopped or crashed while handling it`);
      return;
    }
    const decoded = decodeMessage(entry.subject, entry.data);
    if (!decoded.ok) {
      deadLetter(client, entry, decoded.reason);
      return;
    }
    const lease: Lease = { client, handedBack: false };
    entry.lease = lease;
    const controller = new AbortController();
    const current = (): boolean => entry.lease === lease && !lease.handedBack && !client.dead;
    // Registered before the handler runs: a handler that throws at once settles synchronously.
    const record: Running = { lease, controller, settled: Promise.resolve() };
    slot.running.set(entry, record);
    record.settled = (async () => {
      try {
        await slot.handler({
          subject: entry.subject,
          message: decoded.message,
          id: entry.id,
          headers: entry.headers,
          sequence: entry.sequence,
          deliveryCount: entry.deliveries,
          signal: controller.signal,
        });
        if (current()) remove(entry);
      } catch (error) {
        if (!current()) return;
        report(client, error, entry);
        if (entry.deliveries >= spec.maxDeliveries) {
          deadLetter(client, entry, `handler failed on delivery ${entry.deliveries} of ${spec.maxDeliveries}: ${errorMessage(error)}`);
        } else {
          release(entry, spec.retryDelayMs);
        }
      } finally {
        if (slot.running.get(entry) === record) slot.running.delete(entry);
        schedule();
      }
    })();
  };

  const store = (subj: string, data: Uint8Array, id: string | undefined, headers: Readonly<Record<string, string>> = {}): EnqueueResult => {
    const now = Date.now();
    for (const [key, seen] of recentIds) if (now - seen.at > spec.duplicateWindowMs) recentIds.delete(key);
    const seen = id === undefined ? undefined : recentIds.get(id);
    if (seen) return { sequence: seen.sequence, duplicate: true };
    const sequence = nextSequence++;
    if (id !== undefined) recentIds.set(id, { sequence, at: now });
    entries.push({ sequence, subject: subj, data, id, headers, deliveries: 0, readyAt: now, lease: undefined });
    schedule();
    return { sequence, duplicate: false };
  };

  const stopSlot = async (slot: Slot, options: StopOptions = {}): Promise<void> => {
    slot.stopping = true;
    const all = Promise.all([...slot.running.values()].map((r) => r.settled));
    if (options.handBackAfterMs === undefined) {
      await all;
    } else {
      let timer: NodeJS.Timeout | undefined;
      const late = await Promise.race([
        all.then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), options.handBackAfterMs))),
      ]);
      clearTimeout(timer);
      if (late) {
        for (const [entry, running] of slot.running) {
          running.lease.handedBack = true;
          running.controller.abort(new Error('the consumer is stopping: the message goes back to the queue'));
          slot.running.delete(entry);
          if (entry.lease === running.lease) release(entry, 0);
        }
      }
    }
    slot.client.slots.delete(slot);
    schedule();
  };

  return { clients, dead, takes, store, schedule, release, stopSlot };
}
