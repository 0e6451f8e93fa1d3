import { errorMessage, StoreError } from '../platform/errors.js';
import { decodeMessage, encodeMessage } from '../bus/codec.js';
import type { BusMessage } from '../model/task-events.js';
import { subjectMatches } from '../bus/subjects.js';
import { DEAD_LETTERS_KEPT, DEFAULT_DEAD_LETTER_LIMIT, WorkQueueSpecSchema } from './work-queue.js';
import type {
  DeadLetter,
  EnqueueResult,
  StopOptions,
  WorkConsumer,
  WorkConsumerOptions,
  WorkHandler,
  WorkQueue,
  WorkQueueHooks,
  WorkQueueSpecInput,
} from './work-queue.js';

/** The in-memory queue, plus what tests need to play several processes against one queue. */
export interface MemoryWorkQueue extends WorkQueue {
  /** Another client of the same queue, as another process would be. */
  peer(hooks?: WorkQueueHooks): MemoryWorkQueue;
  /** Dies as `kill -9` would: nothing is acknowledged or handed back; its messages return after ackWaitMs. */
  crash(): void;
  /** Stores raw bytes on a subject, past validation, as a foreign or broken producer could. */
  injectRaw(subject: string, data: string | Uint8Array): number;
}

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
  deliveries: number;
  readyAt: number;
  lease: Lease | undefined;
}

interface Slot {
  readonly client: Client;
  readonly concurrency: number;
  readonly handler: WorkHandler;
  readonly running: Map<Entry, Running>;
  stopping: boolean;
}

interface Client {
  readonly hooks: WorkQueueHooks;
  readonly slots: Set<Slot>;
  dead: boolean;
  closed: boolean;
}

const textDecoder = new TextDecoder();

/**
 * An in-memory WorkQueue with the semantics of the JetStream one (see work-queue.ts), so one
 * conformance suite covers both. Embedded mode needs no work queue (role work runs in process,
 * runtime/role-executor.ts localExecutor); this one is for tests of role and supervisor services
 * without a NATS server, exported from `tandem/testing`. Nothing survives the process.
 */
export function createMemoryWorkQueue(specInput: WorkQueueSpecInput, hooks: WorkQueueHooks = {}): MemoryWorkQueue {
  const spec = WorkQueueSpecSchema.parse(specInput);
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

  const store = (subj: string, data: Uint8Array, id: string | undefined): EnqueueResult => {
    const now = Date.now();
    for (const [key, seen] of recentIds) if (now - seen.at > spec.duplicateWindowMs) recentIds.delete(key);
    const seen = id === undefined ? undefined : recentIds.get(id);
    if (seen) return { sequence: seen.sequence, duplicate: true };
    const sequence = nextSequence++;
    if (id !== undefined) recentIds.set(id, { sequence, at: now });
    entries.push({ sequence, subject: subj, data, id, deliveries: 0, readyAt: now, lease: undefined });
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
      const late = await Promise.race([all.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), options.handBackAfterMs)))]);
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

  const view = (clientHooks: WorkQueueHooks): MemoryWorkQueue => {
    const client: Client = { hooks: clientHooks, slots: new Set(), dead: false, closed: false };
    clients.add(client);
    return {
      spec,

      enqueue(subj: string, message: BusMessage, options: { readonly id?: string } = {}): Promise<EnqueueResult> {
        return new Promise<EnqueueResult>((resolve) => {
          if (client.closed || client.dead) throw new StoreError('unavailable', `cannot enqueue on ${subj}: the work queue ${spec.stream} is closed`);
          if (!takes(subj)) throw new TypeError(`cannot enqueue: ${subj} is not a subject of the work queue ${spec.stream}/${spec.consumer}`);
          const data = encodeMessage(message);
          const decoded = decodeMessage(subj, data);
          if (!decoded.ok) throw new TypeError(`cannot enqueue: ${decoded.reason}`);
          resolve(store(subj, data, options.id));
        });
      },

      consume(handler: WorkHandler, options: WorkConsumerOptions = {}): WorkConsumer {
        if (client.closed || client.dead) throw new StoreError('unavailable', `cannot consume: the work queue ${spec.stream} is closed`);
        const concurrency = options.concurrency ?? 1;
        if (!Number.isInteger(concurrency) || concurrency < 1) throw new TypeError(`concurrency must be a positive integer, got ${concurrency}`);
        const slot: Slot = { client, concurrency, handler, running: new Map(), stopping: false };
        client.slots.add(slot);
        schedule();
        return { stop: (stopOptions?: StopOptions) => stopSlot(slot, stopOptions) };
      },

      deadLetters(limit = DEFAULT_DEAD_LETTER_LIMIT): Promise<DeadLetter[]> {
        return Promise.resolve(dead.slice(-limit).map((letter) => ({ ...letter })));
      },

      async close(): Promise<void> {
        if (client.closed) return;
        // A crashed client has nothing left to wait for: its handlers' outcomes are ignored.
        if (client.dead) client.slots.clear();
        await Promise.all([...client.slots].map((slot) => stopSlot(slot)));
        client.closed = true;
        clients.delete(client);
      },

      peer: (peerHooks: WorkQueueHooks = {}) => view(peerHooks),

      crash(): void {
        client.dead = true;
        clients.delete(client);
        for (const slot of client.slots) {
          for (const [entry, running] of slot.running) {
            if (entry.lease !== running.lease) continue;
            // The lease lapses as JetStream's ack wait would; until then nobody else gets it.
            setTimeout(() => {
              if (entry.lease === running.lease) release(entry, 0);
            }, spec.ackWaitMs);
          }
        }
      },

      injectRaw(subj: string, data: string | Uint8Array): number {
        return store(subj, typeof data === 'string' ? new TextEncoder().encode(data) : data, undefined).sequence;
      },
    };
  };

  return view(hooks);
}
