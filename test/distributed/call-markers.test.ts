import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryBus } from '../../src/bus/memory-bus.js';
import { createMemoryStore } from '../../src/store/memory-store.js';
import { createMemoryWorkQueue } from '../../src/queue/memory-work-queue.js';
import { resultKey, type RoleRunMessage } from '../../src/model/role-work.js';
import { roleQueue } from '../../src/queue/work-queue.js';
import { systemClock } from '../../src/platform/clock.js';
import { startRoleService } from '../../src/distributed/role-service.js';
import { runningKey } from '../../src/distributed/call-markers.js';
import type { GateInput } from '../../src/model/role-contracts.js';
import type { RoleWork } from '../../src/roles/role-executor.js';
import { silentLogger } from '../../src/telemetry/logger.js';

/** Whether a role call runs is decided by the store (result, running marker), not by a time window. */

const gateInput: GateInput = { taskId: 'T1', stepId: 'S1', attempt: 1, worktreePath: '/w/T1', baseCommit: 'a'.repeat(40) };
const report = { passed: true, summary: 'ok', duration_ms: 5, checks: [], regressions: [], flaky: [] };
const call: RoleRunMessage = { type: 'role.gate', taskId: 'T1', key: 'T1.3.gate', at: 1, input: gateInput };

const stops: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

function slowGate(calls: string[], ms: number): RoleWork {
  const unused = (): Promise<never> => Promise.reject(new Error('not used here'));
  return {
    prepare: unused,
    commit: unused,
    plan: unused,
    reviewPlan: unused,
    implement: unused,
    reviewCode: unused,
    validate: unused,
    gate: async (input) => {
      calls.push(`${input.taskId}/${input.stepId}`);
      await new Promise((r) => setTimeout(r, ms));
      return report;
    },
  };
}

function replicas(n: number, work: RoleWork, runningTtlMs = 15_000) {
  const store = createMemoryStore();
  const bus = createMemoryBus();
  const queue = createMemoryWorkQueue(roleQueue('quality-gate', { ackWaitMs: 5_000, retryDelayMs: 10 }));
  const services = Array.from({ length: n }, () =>
    startRoleService({
      service: 'quality-gate',
      queue: queue.peer(),
      store,
      bus,
      work,
      clock: systemClock,
      logger: silentLogger(),
      concurrency: 2,
      runningTtlMs,
    }),
  );
  stops.push(() => queue.close(), ...services.map((s) => () => s.stop()));
  return { store, queue, services };
}

async function until(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('role calls decided by the store, whatever the delay', () => {
  it('a call sent twice as separate messages (past any duplicate window) while it runs is run once; the copy waits and replays its result', async () => {
    const calls: string[] = [];
    const { store, queue, services } = replicas(2, slowGate(calls, 600));
    await queue.enqueue('tandem.v1.role.quality-gate.run', call, { id: 'first-send' });
    await until('the call to start', () => Promise.resolve(calls.length === 1));
    await queue.enqueue('tandem.v1.role.quality-gate.run', call, { id: 'second-send' });
    await until('both deliveries to be answered', () => Promise.resolve(services.reduce((n, s) => n + s.stats().ran + s.stats().replayed, 0) === 2));
    expect(calls).toEqual(['T1/S1']);
    expect(services.map((s) => s.stats().ran).reduce((a, b) => a + b)).toBe(1);
    expect(services.map((s) => s.stats().replayed).reduce((a, b) => a + b)).toBe(1);
    expect((await store.get(resultKey(call.key)))?.value).toMatchObject({ ok: true });
    // The marker is gone once the result is stored.
    expect(await store.get(runningKey(call.key))).toBeUndefined();
  });

  it('a call sent again a long time after it completed is answered from the store', async () => {
    const calls: string[] = [];
    const { queue, services } = replicas(1, slowGate(calls, 10));
    await queue.enqueue('tandem.v1.role.quality-gate.run', call, { id: 'day-1' });
    await until('the first run', () => Promise.resolve(services[0]?.stats().ran === 1));
    await queue.enqueue('tandem.v1.role.quality-gate.run', call, { id: 'day-2' });
    await until('the replay', () => Promise.resolve(services[0]?.stats().replayed === 1));
    expect(calls).toEqual(['T1/S1']);
  });

  it('a call whose replica died (its marker no longer renewed) is taken over and run', async () => {
    const calls: string[] = [];
    const { store, queue, services } = replicas(1, slowGate(calls, 10), 300);
    // A dead replica's marker: written, never renewed.
    await store.put(runningKey(call.key), { owner: 'dead-replica', expiresAt: Date.now() + 300 });
    const started = Date.now();
    await queue.enqueue('tandem.v1.role.quality-gate.run', call, { id: 'x' });
    await until('the call to run', () => Promise.resolve(services[0]?.stats().ran === 1));
    expect(calls).toEqual(['T1/S1']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });
});
