import { describe, expect, it } from 'vitest';
import type { ExecutionResult } from '../../src/model/execution.js';
import { createMemoryStore } from '../../src/store/memory-store.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { StoreError } from '../../src/platform/errors.js';
import { createCostLedger, priceCall, readLedger } from '../../src/routing/cost-ledger.js';
import { createModelRegistry, sumUsd } from '../../src/routing/model-registry.js';
import { manualClock } from '../helpers/manual-clock.js';

const registry = createModelRegistry(ConfigSchema.parse({}).models, { strongest: 'opus' });

function result(fields: Partial<ExecutionResult> = {}): ExecutionResult {
  return {
    provider: 'google',
    model: 'gemini-2.5-flash',
    role: 'implementer',
    response: '{}',
    tokens_input: 10_000,
    tokens_output: 2_000,
    tokens_estimated: false,
    cost_usd: 0,
    latency_ms: 1_234,
    success: true,
    runner: 'gemini-cli',
    ...fields,
  };
}

describe('pricing a call', () => {
  it('uses the CLI’s own figure when it reports one, and keeps the list price beside it', () => {
    expect(priceCall(result({ cost_usd: 0.01234, cost_source: 'reported' }), 'flash', registry)).toEqual({
      usd: 0.01234,
      usd_source: 'reported',
      reported_usd: 0.01234,
      list_usd: 0.008,
    });
  });
  it('prices tokens with the config’s price over a runner’s built-in table', () => {
    expect(priceCall(result({ cost_usd: 0.5, cost_source: 'price_table' }), 'flash', registry)).toEqual({
      usd: 0.008,
      usd_source: 'registry',
      list_usd: 0.008,
    });
    expect(priceCall(result({ cost_source: 'unpriced' }), 'flash', registry)).toEqual({ usd: 0.008, usd_source: 'registry', list_usd: 0.008 });
  });
  it('falls back to the runner’s figure for a model outside the registry, or to nothing', () => {
    expect(priceCall(result({ cost_usd: 0.02, cost_source: 'price_table' }), undefined, registry)).toEqual({ usd: 0.02, usd_source: 'runner' });
    expect(priceCall(result({ cost_source: 'unpriced' }), undefined, registry)).toEqual({ usd: 0, usd_source: 'unpriced' });
    // The scripted runner names no source: it costs what it says (nothing).
    expect(priceCall(result({ runner: 'scripted', tokens_estimated: true }), 'flash', registry)).toEqual({ usd: 0, usd_source: 'runner', list_usd: 0.008 });
  });
});

describe('the cost ledger', () => {
  it('records every call durably with task, step, role, model, tokens, USD, latency, outcome and the estimated flag', async () => {
    const store = createMemoryStore();
    const clock = manualClock(Date.UTC(2025, 2, 10, 12));
    const ledger = createCostLedger({ store, registry, clock });
    await ledger.load();
    const { entry, stored } = ledger.record({
      taskId: 'T1',
      stepId: 'S1',
      role: 'implementer',
      attempt: 2,
      try: 1,
      modelName: 'flash',
      risk: 'high',
      area: 'core',
      result: result({ cost_source: 'price_table', success: false, error_kind: 'timeout' }),
    });
    await stored;
    expect(entry).toMatchObject({
      version: 1,
      at: Date.UTC(2025, 2, 10, 12),
      task_id: 'T1',
      step_id: 'S1',
      role: 'implementer',
      attempt: 2,
      try: 1,
      model_name: 'flash',
      provider: 'google',
      model: 'gemini-2.5-flash',
      runner: 'gemini-cli',
      risk: 'high',
      area: 'core',
      tokens_input: 10_000,
      tokens_output: 2_000,
      estimated: false,
      usd: 0.008,
      usd_source: 'registry',
      latency_ms: 1_234,
      outcome: 'timeout',
    });
    expect(await readLedger(store)).toEqual([entry]);
  });

  it('sums exactly, per task, day and month, and after a reload from the store', async () => {
    const store = createMemoryStore();
    const clock = manualClock(Date.UTC(2025, 1, 28, 23));
    const ledger = createCostLedger({ store, registry, clock });
    await ledger.load();
    const costs = [0.1, 0.2, 0.3, 0.000000001, 0.7, 1e-9];
    const writes: Promise<void>[] = [];
    costs.forEach((usd, i) => {
      if (i === 3) clock.advance(2 * 3_600_000); // into March 1st
      writes.push(
        ledger.record({ taskId: i % 2 === 0 ? 'A' : 'B', role: 'planner', attempt: 1, try: 0, result: result({ cost_usd: usd, cost_source: 'reported' }) })
          .stored,
      );
    });
    await Promise.all(writes);
    expect(ledger.spentByTask('A')).toBe(1.1);
    expect(ledger.spentByTask('B')).toBe(0.200000002);
    expect(ledger.spend('A')).toEqual({ task: 1.1, day: 0.700000002, month: 0.700000002 });
    const reloaded = createCostLedger({ store, registry, clock });
    await reloaded.load();
    expect(reloaded.spentSince(0)).toBe(1.300000002);
    expect(reloaded.spend('B')).toEqual({ task: 0.200000002, day: 0.700000002, month: 0.700000002 });
    expect(sumUsd((await readLedger(store)).map((e) => e.usd))).toBe(1.300000002);
  });

  it('sums by UTC day: spentSince counts the whole day holding its time, and a new day or month starts at 0', async () => {
    const store = createMemoryStore();
    const clock = manualClock(Date.UTC(2025, 0, 31, 10));
    const ledger = createCostLedger({ store, registry, clock });
    await ledger.load();
    const call = (usd: number): Promise<void> =>
      ledger.record({ taskId: 'A', role: 'planner', attempt: 1, try: 0, result: result({ cost_usd: usd, cost_source: 'reported' }) }).stored;
    await call(0.25);
    clock.advance(3_600_000);
    await call(0.5);
    expect(ledger.spentSince(Date.UTC(2025, 0, 31, 10, 30))).toBe(0.75);
    expect(ledger.spend('A')).toEqual({ task: 0.75, day: 0.75, month: 0.75 });
    clock.advance(24 * 3_600_000); // February 1st
    expect(ledger.spend('A')).toEqual({ task: 0.75, day: 0, month: 0 });
    await call(1);
    expect(ledger.spend('A')).toEqual({ task: 1.75, day: 1, month: 1 });
    expect(ledger.spentSince(Date.UTC(2025, 1, 1, 23))).toBe(1);
    expect(ledger.spentSince(0)).toBe(1.75);
  });

  it('counts a call recorded before load() once, whether or not the store already holds it', async () => {
    const store = createMemoryStore();
    const clock = manualClock(Date.UTC(2025, 2, 10, 12));
    const earlier = createCostLedger({ store, registry, clock });
    await earlier.load();
    await earlier.record({ taskId: 'A', role: 'planner', attempt: 1, try: 0, result: result({ cost_usd: 0.1, cost_source: 'reported' }) }).stored;
    const ledger = createCostLedger({ store, registry, clock });
    const { stored } = ledger.record({ taskId: 'A', role: 'planner', attempt: 1, try: 0, result: result({ cost_usd: 0.2, cost_source: 'reported' }) });
    await stored;
    await ledger.load();
    expect(ledger.spend('A')).toEqual({ task: 0.3, day: 0.3, month: 0.3 });
  });

  it('counts the estimates of calls in flight in the spend until they are released, per task and for everyone', async () => {
    const ledger = createCostLedger({ store: createMemoryStore(), registry, clock: manualClock(Date.UTC(2025, 2, 10, 12)) });
    await ledger.load();
    const a = ledger.reserve('T1', 0.25);
    const b = ledger.reserve('T2', 0.5);
    expect(ledger.spend('T1')).toEqual({ task: 0.25, day: 0.75, month: 0.75 });
    expect(ledger.spend('T2')).toEqual({ task: 0.5, day: 0.75, month: 0.75 });
    a.release();
    a.release(); // releasing twice gives nothing back twice
    expect(ledger.spend('T1')).toEqual({ task: 0, day: 0.5, month: 0.5 });
    ledger.record({ taskId: 'T2', role: 'implementer', attempt: 1, try: 0, modelName: 'flash', result: result({ cost_source: 'price_table' }) });
    b.release();
    expect(ledger.spend('T2')).toEqual({ task: 0.008, day: 0.008, month: 0.008 });
  });

  it('with a shared store, counts the calls other processes recorded, at most every sync interval and each once', async () => {
    const store = createMemoryStore();
    const clock = manualClock(Date.UTC(2025, 2, 10, 12));
    const here = createCostLedger({ store, registry, clock, shared: { syncIntervalMs: 2_000 } });
    const there = createCostLedger({ store, registry, clock });
    await here.load();
    await there.load();
    const priced = result({ cost_source: 'price_table' });
    await there.record({ taskId: 'T1', role: 'planner', attempt: 1, try: 0, modelName: 'flash', result: priced }).stored;
    await here.record({ taskId: 'T1', role: 'implementer', attempt: 1, try: 0, modelName: 'flash', result: priced }).stored;
    // The other process's call is not known until the interval has passed.
    await here.sync();
    expect(here.spend('T1').task).toBe(0.008);
    clock.advance(2_000);
    await here.sync();
    expect(here.spend('T1')).toEqual({ task: 0.016, day: 0.016, month: 0.016 });
    // Its own call and the one already counted are never counted twice.
    clock.advance(2_000);
    await Promise.all([here.sync(), here.sync()]);
    expect(here.spend('T1').task).toBe(0.016);
    // A ledger without a shared store learns nothing from a sync.
    await there.sync();
    expect(there.spend('T1').task).toBe(0.008);
  });

  it('names the key of a corrupt entry', async () => {
    const store = createMemoryStore();
    await store.put('ledger.T1.bad', { version: 1, id: 'bad' });
    await expect(readLedger(store)).rejects.toThrow(
      new StoreError('corrupt', 'the ledger entry ledger.T1.bad is invalid: Invalid input: expected number, received undefined'),
    );
  });
});
