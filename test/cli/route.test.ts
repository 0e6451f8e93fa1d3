import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerRouteCommand } from '../../src/cli/route.js';
import { createFileStore } from '../../src/store/file-store.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tandem-route-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function route(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  let code = -1;
  const program = new Command().exitOverride();
  const io = {
    cwd: dir,
    env: {},
    stdout: { write: (t: string) => void (out += t) },
    stderr: { write: (t: string) => void (err += t) },
    signal: new AbortController().signal,
  };
  registerRouteCommand(program, io, (c) => (code = c));
  await program.parseAsync(['route', ...args], { from: 'user' });
  return { code, out, err };
}

const tasks = `tasks:
  - id: R1
    title: Harden the parser
    goal: Make the expression parser reject unbalanced parentheses
    risk: high
    area: core
  - id: R2
    goal: Fix a typo in the README
    risk: low
    area: docs
    type: docs
`;

describe('tandem route --explain', { timeout: 30_000 }, () => {
  it('explains the model of every role and step risk class, calling no model', async () => {
    await writeFile(join(dir, 'tasks.yaml'), tasks);
    const { code, out, err } = await route('--explain', 'tasks.yaml');
    expect(err).toBe('');
    expect(code).toBe(0);
    // The first line says which runners can take calls here (the pinned CLIs are on the PATH of `npm test`).
    expect(out.split('\n')[0]).toMatch(/^runners: claude-code \S+ · codex-cli \S+ · gemini-cli \S+ · ollama unavailable \(/);
    const lines = out.split('\n').slice(2);
    expect(lines[0]).toBe('R1 · Harden the parser · high risk, area core, feature');
    expect(lines[1]).toBe('  complexity 7.5/10 (high risk +4, area core +2, feature task +1, mentions algorithmic +0.5)');
    expect(lines[2]).toBe('  budgets: task no limit ($0.00 spent) · day no limit ($0.00 spent) · month no limit ($0.00 spent)');
    const choices = lines
      .filter((l) => /^ {2}\S/.test(l) && !/^ {2}(complexity|budgets)/.test(l))
      .map((l) =>
        l
          .trim()
          .split(/\s{2,}/)
          .slice(0, 2)
          .join(' | '),
      );
    expect(choices).toEqual([
      'planner | sonnet = anthropic/claude-sonnet-4-5 [claude-code]',
      'plan-reviewer | pro = google/gemini-2.5-pro [gemini-cli]',
      'implementer (low-risk step) | flash = google/gemini-2.5-flash [gemini-cli]',
      'code-reviewer (low-risk step) | sonnet = anthropic/claude-sonnet-4-5 [claude-code]',
      'implementer (medium-risk step) | codex = openai/gpt-5-codex [codex-cli]',
      'code-reviewer (medium-risk step) | sonnet = anthropic/claude-sonnet-4-5 [claude-code]',
      'implementer (high-risk step) | sonnet = anthropic/claude-sonnet-4-5 [claude-code]',
      'code-reviewer (high-risk step) | pro = google/gemini-2.5-pro [gemini-cli]',
      'planner | flash = google/gemini-2.5-flash [gemini-cli]',
      'plan-reviewer | sonnet = anthropic/claude-sonnet-4-5 [claude-code]',
      'implementer (low-risk step) | flash = google/gemini-2.5-flash [gemini-cli]',
      'code-reviewer (low-risk step) | sonnet = anthropic/claude-sonnet-4-5 [claude-code]',
      'implementer (medium-risk step) | codex = openai/gpt-5-codex [codex-cli]',
      'code-reviewer (medium-risk step) | sonnet = anthropic/claude-sonnet-4-5 [claude-code]',
      'implementer (high-risk step) | sonnet = anthropic/claude-sonnet-4-5 [claude-code]',
      'code-reviewer (high-risk step) | pro = google/gemini-2.5-pro [gemini-cli]',
    ]);
    // Each decision says why: the matrix cell, complexity, diversity.
    expect(lines[4]).toBe(
      '      why: complexity 7.5/10 (high risk +4, area core +2, feature task +1, mentions algorithmic +0.5); matrix planner.high.core → sonnet; history: no model has 20 outcomes in this cell yet; estimated $0.04',
    );
    expect(out).toContain(
      "      why: complexity 7.5/10 (high risk +4, area core +2, feature task +1, mentions algorithmic +0.5); matrix plan-reviewer.any.any → sonnet, pro, haiku; sonnet skipped: it is the author's model (anthropic/claude-sonnet-4-5); diversity (provider): the author is anthropic/claude-sonnet-4-5, the reviewer google/gemini-2.5-pro; estimated $0.01\n",
    );
    expect(out.trimEnd().split('\n').at(-1)).toBe(
      'No model was called. Steps do not exist before planning: for a task without a plan in the state dir, the step roles are shown for a step of each risk class.',
    );
  });

  it('shows the real steps of a task the state dir has a plan for', async () => {
    await writeFile(join(dir, 'tasks.yaml'), tasks);
    const store = await createFileStore({ dir: join(dir, '.tandem', 'store') });
    const plan = {
      task_id: 'R1',
      steps: [
        { id: 'S1', type: 'testing', risk: 'low', description: 'add failing tests for unbalanced parentheses', estimated_complexity: 'small' },
        { id: 'S2', type: 'implementation', risk: 'high', description: 'reject unbalanced parentheses in the parser', estimated_complexity: 'large' },
      ],
    };
    const spec = { id: 'R1', goal: 'Make the expression parser reject unbalanced parentheses', risk: 'high', area: 'core' };
    await store.put('tasks.R1', {
      version: 1,
      id: 'R1',
      spec,
      repo: dir,
      base: 'main',
      baseCommit: 'b'.repeat(40),
      state: 'IMPLEMENTING',
      attempt: 1,
      commits: [],
      plan,
      costUsd: 0,
      createdAt: 1,
      updatedAt: 1,
    });
    await store.close();
    const { code, out } = await route('--json', 'tasks.yaml');
    expect(code).toBe(0);
    const parsed = JSON.parse(out) as { tasks: { id: string; steps: string; calls: { role: string; stepId?: string; stepRisk?: string }[] }[] };
    expect(parsed.tasks.map((t) => [t.id, t.steps])).toEqual([
      ['R1', 'planned'],
      ['R2', 'hypothetical'],
    ]);
    expect(parsed.tasks[0]?.calls.map((c) => `${c.role}${c.stepId ? `:${c.stepId}:${c.stepRisk ?? ''}` : ''}`)).toEqual([
      'planner',
      'plan-reviewer',
      'implementer:S1:low',
      'code-reviewer:S1:low',
      'implementer:S2:high',
      'code-reviewer:S2:high',
    ]);
    const text = await route('tasks.yaml');
    expect(text.out).toContain('  implementer (step S2, high risk)');
  });

  it('routes around a runner whose CLI is not installed, and says so', async () => {
    await writeFile(join(dir, 'tasks.yaml'), tasks);
    await writeFile(join(dir, 'tandem.config.yaml'), 'runners:\n  gemini-cli:\n    command: /nonexistent/gemini\n');
    const { code, out } = await route('--json', 'tasks.yaml');
    expect(code).toBe(0);
    const parsed = JSON.parse(out) as {
      runners: Record<string, { ok: boolean; detail: string }>;
      tasks: { calls: { decision: { ok: boolean; ref?: { runner: string } } }[] }[];
    };
    expect(parsed.runners['gemini-cli']).toMatchObject({ ok: false });
    expect(parsed.runners['gemini-cli']?.detail).toContain('/nonexistent/gemini');
    const runnersUsed = parsed.tasks.flatMap((t) => t.calls.flatMap((c) => (c.decision.ok && c.decision.ref ? [c.decision.ref.runner] : [])));
    expect(runnersUsed.length).toBeGreaterThan(0);
    expect(runnersUsed).not.toContain('gemini-cli');
  });

  it('applies the config: pins, budgets and recorded spend of the state dir', async () => {
    await writeFile(join(dir, 'tasks.yaml'), tasks);
    await writeFile(join(dir, 'tandem.config.yaml'), 'roles:\n  planner: opus\nbudgets:\n  day_usd: 1.02\n  on_exceed: ask\n');
    const store = await createFileStore({ dir: join(dir, '.tandem', 'store') });
    const spent = {
      version: 1,
      task_id: 'OLD',
      role: 'planner',
      attempt: 1,
      try: 0,
      provider: 'google',
      model: 'gemini-2.5-pro',
      runner: 'gemini-cli',
      tokens_input: 1,
      tokens_output: 1,
      estimated: false,
      usd: 0.99,
      usd_source: 'reported',
      latency_ms: 1,
      outcome: 'ok',
    };
    await store.put('ledger.OLD.a', { ...spent, id: 'a', at: Date.now() });
    await store.close();
    const { code, out } = await route('--json', 'tasks.yaml');
    expect(code).toBe(0);
    const parsed = JSON.parse(out) as {
      tasks: { id: string; budget: unknown; calls: { role: string; decision: { ok: boolean; key?: string; source?: string; kind?: string } }[] }[];
    };
    const r1 = parsed.tasks[0];
    expect(r1?.budget).toEqual({ day: 1.02, spent: { task: 0, day: 0.99, month: 0.99 } });
    expect(r1?.calls[0]?.decision).toMatchObject({ ok: false, kind: 'budget' });
    // $0.99 of $1.02 spent today: only calls estimated under $0.03 go ahead.
    expect(r1?.calls.map((c) => (c.decision.ok ? `${c.role}:${c.decision.key ?? ''}` : `${c.role}:${c.decision.kind ?? ''}`))).toEqual([
      'planner:budget',
      'plan-reviewer:sonnet',
      'implementer:flash',
      'code-reviewer:sonnet',
      'implementer:budget',
      'code-reviewer:sonnet',
      'implementer:budget',
      'code-reviewer:sonnet',
    ]);
  });

  it('reports a bad task file and a bad config with file, line and field', async () => {
    await writeFile(join(dir, 'tasks.yaml'), 'tasks:\n  - id: X\n    goal: g\n    risk: extreme\n');
    const bad = await route('tasks.yaml');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain(`${join(dir, 'tasks.yaml')}:4:11: tasks[0].risk: unknown risk \`extreme\``);
    await writeFile(join(dir, 'tasks.yaml'), tasks);
    await writeFile(join(dir, 'tandem.config.yaml'), 'routing:\n  matrix:\n    planner: { any: { any: gpt-9 } }\n');
    const config = await route('tasks.yaml');
    expect(config.code).toBe(2);
    expect(config.err).toContain(`${join(dir, 'tandem.config.yaml')}:3:28: routing.matrix.planner.any.any: model \`gpt-9\` is not defined in \`models\``);
  });
});
