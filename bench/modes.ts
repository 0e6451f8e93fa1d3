import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileStore, createMemoryBus, createMemoryStore, type Bus, type Store } from '../src/index.js';
import { createNatsBus } from '../src/bus/nats-bus.js';
import { connectNats } from '../src/bus/nats-connection.js';
import { openKvStore } from '../src/store/kv-store.js';
import { startNatsServer } from '../test/helpers/nats-server.js';
import type { Target } from './report.js';

/** The bus and store one benchmark runtime runs over; `close` also removes what it created. */
export interface ModePorts {
  readonly bus: Bus;
  readonly store: Store;
  close(): Promise<void>;
}

/** Targets from issue 4 ("Performance"); a missing one is printed without a verdict. */
interface ModeTargets {
  readonly overheadP50Ms?: Target;
  readonly overheadP99Ms?: Target;
  /** Achieved ÷ ideal throughput at the highest concurrency measured (256). */
  readonly throughputRatioAtMax?: Target;
  readonly retainedBytesPerTask?: Target;
  readonly inFlightBytesPerTask?: Target;
}

export interface Mode {
  readonly name: string;
  readonly description: string;
  /** Every transition waits for a durable write, so fewer tasks fit in the time budget. */
  readonly durable: boolean;
  readonly targets: ModeTargets;
  open(): Promise<ModePorts>;
}

const heapTargets = {
  retainedBytesPerTask: { op: '<=', value: 1000 },
  inFlightBytesPerTask: { op: '<=', value: 30_000 },
} as const satisfies ModeTargets;

/** Each entry builds fresh ports per measurement. */
export const modes: readonly Mode[] = [
  {
    name: 'memory',
    description: 'embedded: memory bus, in-memory store',
    durable: false,
    targets: { overheadP50Ms: { op: '<=', value: 1 }, ...heapTargets },
    open() {
      const bus = createMemoryBus();
      const store = createMemoryStore();
      return Promise.resolve({
        bus,
        store,
        async close() {
          await bus.close();
          await store.close();
        },
      });
    },
  },
  {
    name: 'file',
    description: 'embedded: memory bus, durable file store (locked: group-committed journal, fdatasync before every put resolves)',
    durable: true,
    targets: { overheadP50Ms: { op: '<=', value: 10 }, throughputRatioAtMax: { op: '>=', value: 0.9 }, ...heapTargets },
    async open() {
      const dir = await mkdtemp(join(tmpdir(), 'tandem-bench-store-'));
      const bus = createMemoryBus();
      try {
        const store = await createFileStore({ dir, lock: true });
        return {
          bus,
          store,
          async close() {
            await bus.close();
            await store.close();
            await rm(dir, { recursive: true, force: true });
          },
        };
      } catch (error) {
        await rm(dir, { recursive: true, force: true });
        throw error;
      }
    },
  },
  /**
   * The runtime over the distributed ports: lifecycle events on core NATS subjects and every
   * transition a revision-checked write to a JetStream KV bucket, on a nats-server of its own
   * (127.0.0.1, temporary store), as `tandem serve supervisor` persists. Role work stays in the
   * process, so the figure is the supervisor's own cost per task, comparable with the embedded modes.
   */
  {
    name: 'nats',
    description: 'distributed ports: NATS bus, JetStream KV store (own nats-server on 127.0.0.1)',
    durable: true,
    targets: {
      overheadP99Ms: { op: '<=', value: 25 },
      throughputRatioAtMax: { op: '>=', value: 0.85 },
      ...heapTargets,
    },
    async open() {
      const server = await startNatsServer();
      try {
        const connection = await connectNats({ servers: [server.url], name: 'tandem bench' });
        const store = await openKvStore({ connection, bucket: 'bench' });
        const bus = createNatsBus({ connection });
        return {
          bus,
          store,
          async close() {
            await bus.close();
            await store.close();
            await connection.close();
            await server.cleanup();
          },
        };
      } catch (error) {
        await server.cleanup();
        throw error;
      }
    },
  },
];

export function modeNamed(name: string): Mode | undefined {
  return modes.find((mode) => mode.name === name);
}
