import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileStore, createMemoryBus, createMemoryStore, type Bus, type Store } from '../src/index.js';
import type { Target } from './report.js';

/** The bus and store one benchmark runtime runs over; `close` also removes what it created. */
export interface ModePorts {
  readonly bus: Bus;
  readonly store: Store;
  close(): Promise<void>;
}

/** Targets from issue 4 ("Performance"); a missing one is printed without a verdict. */
export interface ModeTargets {
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

/**
 * Each entry builds fresh ports per measurement. The NATS mode is one more entry whose `open`
 * connects a NATS bus and KV store (targets: ≥ 0.85 of ideal at 256, p99 ≤ 25 ms).
 */
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
    description: 'embedded: memory bus, durable file store (fsync + rename per transition)',
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
];

export function modeNamed(name: string): Mode | undefined {
  return modes.find((mode) => mode.name === name);
}
