import { describe, expect, it } from 'vitest';
import type { ExecutionResult } from '../../src/agents/runners/agent-runner.js';
import { createMemoryStore } from '../../src/bus/memory-store.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { StoreError } from '../../src/errors.js';
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
    expect(priceCall(result({ cost_usd: 0.01234, cost_source: 'reported' }), 'flash', registry)).toEqual({ usd: 0.01234, usd_source: 'reported', reported_usd: 0.01234, list_usd: 0.008 });
  });
  it('prices tokens with the config’s price over a runner’s built-in table', () => {
    expect(priceCall(result({ cost_usd: 0.5, cost_source: 'price_table' }), 'flash', registry)).toEqual({ usd: 0.008, usd_source: 'registry', list_usd: 0.008 });
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
    const { entry, stored } = ledger.record({ taskId: 'T1', stepId: 'S1', role: 'implementer', attempt: 2, try: 1, modelName: 'flash', risk: 'high', area: 'core', result: result({ cost_source: 'price_table', success: false, error_kind: 'timeout' }) });
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
      writes.push(ledger.record({ taskId: i % 2 === 0 ? 'A' : 'B', role: 'planner', attempt: 1, try: 0, result: result({ cost_usd: usd, cost_source: 'reported' }) }).stored);
    });
    await Promise.all(writes);
    expect(ledger.spentByTask('A')).toBe(1.1);
    expect(ledger.spentByTask('B')).toBe(0.200000002);
    expect(ledger.spend('A')).toEqual({ task: 1.1, day: 0.700000002, month: 0.700000002 });
    const reloaded = createCostLedger({ store, registry, clock });
    await reloaded.load();
    expect(reloaded.spentSince(0)).toBe(1.300000002);
    expect(sumUsd(reloaded.entries().map((e) => e.usd))).toBe(1.300000002);
  });

  it('names the key of a corrupt entry', async () => {
    const store = createMemoryStore();
    await store.put('ledger.T1.bad', { version: 1, id: 'bad' });
    await expect(readLedger(store)).rejects.toThrow(new StoreError('corrupt', 'the ledger entry ledger.T1.bad is invalid: Invalid input: expected number, received undefined'));
  });
});
