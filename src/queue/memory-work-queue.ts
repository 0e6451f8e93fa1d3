import { StoreError } from '../platform/errors.js';
import { decodeMessage, encodeMessage } from '../bus/codec.js';
import type { BusMessage } from '../model/task-events.js';
import { createMemoryQueueEngine, type Client, type Slot } from './memory-queue-engine.js';
import { DEFAULT_DEAD_LETTER_LIMIT, WorkQueueSpecSchema } from './work-queue.js';
import type {
  DeadLetter,
  EnqueueOptions,
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

/**
 * An in-memory WorkQueue with the semantics of the JetStream one (see work-queue.ts), so one
 * conformance suite covers both. Embedded mode needs no work queue (role work runs in process,
 * runtime/role-executor.ts localExecutor); this one is for tests of role and supervisor services
 * without a NATS server, exported from `tandem/testing`. Nothing survives the process.
 * Delivery, leases and dead letters live in memory-queue-engine.ts; this is one client's view.
 */
export function createMemoryWorkQueue(specInput: WorkQueueSpecInput, hooks: WorkQueueHooks = {}): MemoryWorkQueue {
  const spec = WorkQueueSpecSchema.parse(specInput);
  const engine = createMemoryQueueEngine(spec);

  const view = (clientHooks: WorkQueueHooks): MemoryWorkQueue => {
    const client: Client = { hooks: clientHooks, slots: new Set(), dead: false, closed: false };
    engine.clients.add(client);
    return {
      spec,

      enqueue(subj: string, message: BusMessage, options: EnqueueOptions = {}): Promise<EnqueueResult> {
        return new Promise<EnqueueResult>((resolve) => {
          if (client.closed || client.dead) throw new StoreError('unavailable', `cannot enqueue on ${subj}: the work queue ${spec.stream} is closed`);
          if (!engine.takes(subj)) throw new TypeError(`cannot enqueue: ${subj} is not a subject of the work queue ${spec.stream}/${spec.consumer}`);
          const data = encodeMessage(message);
          const decoded = decodeMessage(subj, data);
          if (!decoded.ok) throw new TypeError(`cannot enqueue: ${decoded.reason}`);
          resolve(engine.store(subj, data, options.id, options.headers));
        });
      },

      consume(handler: WorkHandler, options: WorkConsumerOptions = {}): WorkConsumer {
        if (client.closed || client.dead) throw new StoreError('unavailable', `cannot consume: the work queue ${spec.stream} is closed`);
        const concurrency = options.concurrency ?? 1;
        if (!Number.isInteger(concurrency) || concurrency < 1) throw new TypeError(`concurrency must be a positive integer, got ${concurrency}`);
        const slot: Slot = { client, concurrency, handler, running: new Map(), stopping: false };
        client.slots.add(slot);
        engine.schedule();
        return { stop: (stopOptions?: StopOptions) => engine.stopSlot(slot, stopOptions) };
      },

      deadLetters(limit = DEFAULT_DEAD_LETTER_LIMIT): Promise<DeadLetter[]> {
        return Promise.resolve(engine.dead.slice(-limit).map((letter) => ({ ...letter })));
      },

      async close(): Promise<void> {
        if (client.closed) return;
        // A crashed client has nothing left to wait for: its handlers' outcomes are ignored.
        if (client.dead) client.slots.clear();
        await Promise.all([...client.slots].map((slot) => engine.stopSlot(slot)));
        client.closed = true;
        engine.clients.delete(client);
      },

      peer: (peerHooks: WorkQueueHooks = {}) => view(peerHooks),

      crash(): void {
        client.dead = true;
        engine.clients.delete(client);
        for (const slot of client.slots) {
          for (const [entry, running] of slot.running) {
            if (entry.lease !== running.lease) continue;
            // The lease lapses as JetStream's ack wait would; until then nobody else gets it.
            setTimeout(() => {
              if (entry.lease === running.lease) engine.release(entry, 0);
            }, spec.ackWaitMs);
          }
        }
      },

      injectRaw(subj: string, data: string | Uint8Array): number {
        return engine.store(subj, typeof data === 'string' ? new TextEncoder().encode(data) : data, undefined).sequence;
      },
    };
  };

  return view(hooks);
}
