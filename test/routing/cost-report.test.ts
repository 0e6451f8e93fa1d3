import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/schema.js';
import type { LedgerEntry } from '../../src/routing/cost-ledger.js';
import { buildCostReport, formatCostReport } from '../../src/routing/cost-report.js';
import { createModelRegistry, sumUsd } from '../../src/routing/model-registry.js';

const registry = createModelRegistry(ConfigSchema.parse({}).models, { strongest: 'opus' });
let seq = 0;
function entry(fields: Partial<LedgerEntry>): LedgerEntry {
  return {
    version: 1,
    id: `e${seq++}`,
    at: Date.UTC(2025, 2, 1),
    task_id: 'T1',
    role: 'implementer',
    attempt: 1,
    try: 0,
    provider: 'google',
    model: 'gemini-2.5-flash',
    runner: 'gemini-cli',
    area: 'core',
    tokens_input: 1_000_000,
    tokens_output: 100_000,
    estimated: false,
    usd: 0.55,
    usd_source: 'registry',
    latency_ms: 10,
    outcome: 'ok',
    ...fields,
  };
}

const entries: LedgerEntry[] = [
  entry({ model_name: 'flash' }),
  entry({ model_name: 'flash', task_id: 'T2', area: 'docs', at: Date.UTC(2025, 2, 5) }),
  entry({
    model_name: 'sonnet',
    provider: 'anthropic',
    model: 'claude-sonnet-4-5',
    role: 'code-reviewer',
    usd: 4.6,
    usd_source: 'reported',
    reported_usd: 4.6,
    list_usd: 4.5,
  }),
  entry({
    provider: 'google',
    model: 'gemini-2.5-flash',
    runner: 'scripted',
    estimated: true,
    usd: 0,
    usd_source: 'runner',
    tokens_input: 500,
    tokens_output: 50,
  }),
];

describe('cost report', () => {
  it('groups real spend, compares it with the strongest model from real token counts, keeps estimates apart', () => {
    const report = buildCostReport(entries, { by: 'model', registry });
    // opus: 1M in × $5 + 0.1M out × $25 = $7.50 per real call.
    expect(report.real.rows).toEqual([
      { key: 'anthropic/claude-sonnet-4-5', calls: 1, tokensIn: 1_000_000, tokensOut: 100_000, usd: 4.6, strongestUsd: 7.5 },
      { key: 'google/gemini-2.5-flash', calls: 2, tokensIn: 2_000_000, tokensOut: 200_000, usd: 1.1, strongestUsd: 15 },
    ]);
    expect(report.real.total).toEqual({ key: 'total', calls: 3, tokensIn: 3_000_000, tokensOut: 300_000, usd: 5.7, strongestUsd: 22.5 });
    expect(report.savings).toEqual({ strongestUsd: 22.5, actualUsd: 5.7, savedUsd: 16.8, percent: 74.7 });
    expect(report.estimated.total).toMatchObject({ calls: 1, tokensIn: 500, usd: 0 });
    expect(report.reconciliation).toEqual({ calls: 1, reportedUsd: 4.6, listUsd: 4.5 });
    // Every real call is in exactly one row, and the rows add up to the total exactly.
    expect(sumUsd(report.real.rows.map((r) => r.usd))).toBe(report.real.total.usd);
    expect(sumUsd(entries.filter((e) => !e.estimated).map((e) => e.usd))).toBe(report.real.total.usd);
  });

  it('filters by task and date, and groups by role, area or task', () => {
    expect(buildCostReport(entries, { by: 'task', task: 'T2', registry }).real.rows.map((r) => [r.key, r.calls])).toEqual([['T2', 1]]);
    expect(buildCostReport(entries, { by: 'area', since: Date.UTC(2025, 2, 2), registry }).real.rows.map((r) => [r.key, r.usd])).toEqual([['docs', 0.55]]);
    expect(buildCostReport(entries, { by: 'role', registry }).real.rows.map((r) => [r.key, r.usd])).toEqual([
      ['code-reviewer', 4.6],
      ['implementer', 1.1],
    ]);
  });

  it('prints a table, the savings line, the reconciliation and the estimates, each labelled', () => {
    expect(formatCostReport(buildCostReport(entries, { by: 'model', registry }))).toBe(
      [
        'Spend by model (all tasks), from the recorded calls:',
        'MODEL                        CALLS  TOKENS IN  TOKENS OUT  SPEND  ON OPUS',
        'anthropic/claude-sonnet-4-5      1  1,000,000     100,000  $4.60    $7.50',
        'google/gemini-2.5-flash          2  2,000,000     200,000  $1.10   $15.00',
        'TOTAL                            3  3,000,000     300,000  $5.70   $22.50',
        '',
        'On opus (anthropic/claude-opus-4-5) the same 3 calls would have cost $22.50; actual $5.70: saved $16.80 (74.7%). From real token counts.',
        '',
        "The CLIs reported $4.60 for 1 call; their tokens at the configured prices give $4.50 (+2.2%). Spend uses the CLIs' figures.",
        '',
        'ESTIMATED (the runner reported no token counts; not included above):',
        'MODEL                    CALLS  TOKENS IN  TOKENS OUT   SPEND   ON OPUS',
        'google/gemini-2.5-flash      1       ~500         ~50  ~$0.00  ~$0.0037',
        'TOTAL (estimated)            1       ~500         ~50  ~$0.00  ~$0.0037',
        '',
      ].join('\n'),
    );
  });
});
