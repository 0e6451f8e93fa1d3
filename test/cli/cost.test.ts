import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFileStore } from '../../src/store/file-store.js';
import { registerCostCommand } from '../../src/cli/cost.js';
import type { LedgerEntry } from '../../src/routing/cost-ledger.js';
import type { CostReport } from '../../src/routing/cost-report.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tandem-cost-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function cost(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  let code = -1;
  const program = new Command().exitOverride().configureOutput({ writeErr: (t) => void (err += t) });
  const io = {
    cwd: dir,
    env: {},
    stdout: { write: (t: string) => void (out += t) },
    stderr: { write: (t: string) => void (err += t) },
    signal: new AbortController().signal,
  };
  registerCostCommand(program, io, (c) => (code = c));
  try {
    await program.parseAsync(['cost', ...args], { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    code = 2;
  }
  return { code, out, err };
}

function entry(id: string, fields: Partial<LedgerEntry>): LedgerEntry {
  return {
    version: 1,
    id,
    at: Date.UTC(2025, 2, 1),
    task_id: 'T1',
    role: 'implementer',
    attempt: 1,
    try: 0,
    model_name: 'pro',
    provider: 'google',
    model: 'gemini-2.5-pro',
    runner: 'gemini-cli',
    area: 'core',
    tokens_input: 200_000,
    tokens_output: 20_000,
    estimated: false,
    usd: 0.45,
    usd_source: 'registry',
    latency_ms: 10,
    outcome: 'ok',
    ...fields,
  };
}

async function record(entries: LedgerEntry[]): Promise<void> {
  const store = await createFileStore({ dir: join(dir, '.tandem', 'store') });
  for (const e of entries) await store.put(`ledger.${e.task_id}.${e.id}`, e);
  await store.close();
}

describe('tandem cost', () => {
  it('reports real spend by model and the strongest-model comparison; --json gives the same figures', async () => {
    await record([
      entry('a', {}),
      entry('b', { task_id: 'T2', area: 'docs', at: Date.UTC(2025, 2, 9), model_name: 'flash', model: 'gemini-2.5-flash', usd: 0.11 }),
      entry('c', {
        role: 'code-reviewer',
        model_name: 'sonnet',
        provider: 'anthropic',
        model: 'claude-sonnet-4-5',
        runner: 'claude-code',
        usd: 0.9,
        usd_source: 'reported',
        reported_usd: 0.9,
        list_usd: 0.9,
      }),
    ]);
    const { code, out } = await cost();
    expect(code).toBe(0);
    // opus: 200,000 × $5/M + 20,000 × $25/M = $1.50 per call.
    expect(out).toBe(
      [
        'Spend by model (all tasks), from the recorded calls:',
        'MODEL                        CALLS  TOKENS IN  TOKENS OUT  SPEND  ON OPUS',
        'anthropic/claude-sonnet-4-5      1    200,000      20,000  $0.90    $1.50',
        'google/gemini-2.5-pro            1    200,000      20,000  $0.45    $1.50',
        'google/gemini-2.5-flash          1    200,000      20,000  $0.11    $1.50',
        'TOTAL                            3    600,000      60,000  $1.46    $4.50',
        '',
        'On opus (anthropic/claude-opus-4-5) the same 3 calls would have cost $4.50; actual $1.46: saved $3.04 (67.6%). From real token counts.',
        '',
        "The CLIs reported $0.90 for 1 call; their tokens at the configured prices give $0.90 (+0%). Spend uses the CLIs' figures.",
        '',
      ].join('\n'),
    );
    const json = JSON.parse((await cost('--json', '--by', 'area', '--since', '2025-03-05')).out) as CostReport;
    expect(json.real.rows).toEqual([{ key: 'docs', calls: 1, tokensIn: 200_000, tokensOut: 20_000, usd: 0.11, strongestUsd: 1.5 }]);
    expect(json.filter).toEqual({ since: '2025-03-05T00:00:00.000Z' });
    const byTask = JSON.parse((await cost('--json', '--task', 'T1', '--by', 'role')).out) as CostReport;
    expect(byTask.real.rows.map((r) => [r.key, r.usd])).toEqual([
      ['code-reviewer', 0.9],
      ['implementer', 0.45],
    ]);
  });

  it('keeps estimated figures apart and says so', async () => {
    await record([entry('a', {}), entry('e', { runner: 'scripted', estimated: true, usd: 0, usd_source: 'runner', tokens_input: 4_000, tokens_output: 300 })]);
    const { out } = await cost('--by', 'task');
    expect(out).toContain('TOTAL      1    200,000      20,000  $0.45    $1.50\n');
    expect(out).toContain('ESTIMATED (the runner reported no token counts; not included above):\n');
    expect(out).toContain('TOTAL (estimated)      1     ~4,000        ~300  ~$0.00   ~$0.03\n');
  });

  it('says when nothing was recorded, and refuses bad flags', async () => {
    expect((await cost()).out).toBe('Spend by model (all tasks), from the recorded calls:\nno calls with reported token counts\n');
    const task = await cost('--task', 'NOPE');
    expect([task.code, task.err]).toEqual([
      2,
      `tandem: a problem in the input; nothing was started:\n  command line: --task: no recorded calls of task NOPE in ${join(dir, '.tandem')}\n`,
    ]);
    const by = await cost('--by', 'colour');
    expect(by.code).toBe(2);
    expect(by.err).toContain("option '--by <what>' argument 'colour' is invalid. must be one of model, role, area, task");
    const since = await cost('--since', 'yesterday-ish');
    expect(since.code).toBe(2);
    expect(since.err).toContain('must be a date (YYYY-MM-DD, UTC) or an ISO 8601 time');
  });
});
