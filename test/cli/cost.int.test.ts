import { readdir } from 'node:fs/promises';
import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerCostCommand } from '../../src/cli/cost.js';
import type { CliIO } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/main.js';
import type { CostReport } from '../../src/routing/cost-report.js';
import { createGitRepo, type GitRepo } from '../helpers/git-repo.js';

/**
 * A budget stop end to end, in-process, with the scripted runner, a real repository and a real
 * gate: `tandem run` parks the task (exit 3, kind budget), `tandem review --raise-budget`
 * continues it to DONE, and `tandem cost` reports the recorded calls, all of them estimated.
 */

interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function io(cwd: string, out: { stdout: string; stderr: string }): CliIO {
  return {
    cwd,
    env: {},
    stdout: { write: (text: string) => void (out.stdout += text), isTTY: false },
    stderr: { write: (text: string) => void (out.stderr += text), isTTY: false },
    signal: new AbortController().signal,
  };
}

async function tandem(cwd: string, ...args: string[]): Promise<CliResult> {
  const out = { stdout: '', stderr: '' };
  const code = await runCli(args, io(cwd, out));
  return { code, ...out };
}

/** `cost` is not in main.ts's command list yet; it is registered on its own program here. */
async function cost(cwd: string, ...args: string[]): Promise<CliResult> {
  const out = { stdout: '', stderr: '' };
  let code = -1;
  const program = new Command().exitOverride();
  registerCostCommand(program, io(cwd, out), (c) => (code = c));
  await program.parseAsync(['cost', ...args], { from: 'user' });
  return { code, ...out };
}

const SCRIPT = `defaults:
  plan-reviewer: [ { respond: { status: approved } } ]
  code-reviewer: [ { respond: { status: approved } } ]
tasks:
  T1:
    planner:
      - respond: { task_id: T1, steps: [ { id: S1, type: implementation, description: Write the greeting } ] }
    steps:
      S1:
        implementer:
          - edits: [ { path: greeting.txt, content: "hello\\n" } ]
            respond: { explanation: wrote the greeting, confidence: 0.9 }
`;

const CONFIG = `budgets:
  task_usd: 0.001
gate:
  checks:
    - name: greeting
      command: grep -q hello greeting.txt
      timeout_ms: 30000
`;

describe('budgets and cost through the CLI', () => {
  let work: string;
  let repo: GitRepo;

  beforeEach(async () => {
    work = await realpath(await mkdtemp(join(tmpdir(), 'tandem-cost-cli-')));
    repo = await createGitRepo({ 'README.md': '# project\n' });
    await writeFile(join(work, 'script.yaml'), SCRIPT);
    await writeFile(join(work, 'tandem.config.yaml'), CONFIG);
    await writeFile(join(work, 'tasks.yaml'), 'tasks:\n  - id: T1\n    goal: Write a greeting\n    risk: low\n');
  });

  afterEach(async () => {
    await repo.cleanup();
    await rm(work, { recursive: true, force: true });
  });

  it('run stops at the budget, review --raise-budget finishes the task, cost reports every recorded call', async () => {
    const run = await tandem(work, 'run', 'tasks.yaml', '--repo', repo.dir, '--runner', 'scripted', '--script', 'script.yaml');
    expect(run.code, run.stderr).toBe(3);
    expect(run.stdout).toContain('T1 waits for a person.');
    const waiting = await tandem(work, 'status', 'T1');
    expect(waiting.stdout).toMatch(
      /T1 waits for a person \(plan, budget\): the task budget of \$0\.0010 would be exceeded: \$0\.00 spent \+ \$0\.0\d+ estimated for this call; no cheaper model in the fallback chain of flash fits/,
    );

    const wrong = await tandem(work, 'review', 'T1', '--raise-budget', '-1');
    expect(wrong.code).toBe(2);
    const review = await tandem(work, 'review', 'T1', '--raise-budget', '0.5');
    expect(review.code, `${review.stdout}\n${review.stderr}`).toBe(0);
    expect(review.stdout).toMatch(/T1 +DONE/);
    expect(await repo.git('show', 'tandem/T1:greeting.txt')).toBe('hello');

    const ledgerFiles = await readdir(join(work, '.tandem', 'store', 'ledger', 'T1'));
    // planner, plan-reviewer, implementer, code-reviewer, validator.
    expect(ledgerFiles).toHaveLength(5);
    const report = JSON.parse((await cost(work, '--json', '--by', 'role')).stdout) as CostReport;
    // The scripted runner reports no token counts: every figure is an estimate, none is mixed with real ones.
    expect(report.real.total.calls).toBe(0);
    expect(report.savings).toBeUndefined();
    expect(report.estimated.total.calls).toBe(5);
    expect(report.estimated.rows.map((r) => r.key).sort()).toEqual(['code-reviewer', 'implementer', 'plan-reviewer', 'planner', 'validator']);
    expect(report.estimated.total.usd).toBe(0);
    const text = await cost(work, '--task', 'T1');
    expect(text.stdout).toContain('no calls with reported token counts\n');
    expect(text.stdout).toContain('ESTIMATED (the runner reported no token counts; not included above):');
  });
});
