import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

/**
 * `tandem demo` through the real binary (bin/tandem.js runs dist/, built by the integration
 * project's globalSetup): the output tells the demo's story, and the branches it leaves behind hold
 * the expected commits and pass the demo repository's own tests.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin', 'tandem.js');

interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

const running = new Set<ChildProcess>();

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // The group is already gone.
  }
}

/** Runs a command in its own process group; the whole group is killed after `timeoutMs`. */
function run(command: string, args: readonly string[], options: { cwd: string; timeoutMs: number }): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => killGroup(child), options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      running.delete(child);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

async function git(cwd: string, ...args: string[]): Promise<string> {
  const result = await run('git', args, { cwd, timeoutMs: 30_000 });
  if (result.code !== 0) throw new Error(`git ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout.trim();
}

/** Index of the first line at or after `from` matching `pattern`, or -1. */
function lineIndex(lines: readonly string[], pattern: RegExp, from = 0): number {
  for (let i = from; i < lines.length; i++) if (pattern.test(lines[i] ?? '')) return i;
  return -1;
}

/** Asserts that the patterns match lines in this order, each after the previous one. */
function expectInOrder(lines: readonly string[], patterns: readonly RegExp[]): void {
  let from = 0;
  for (const pattern of patterns) {
    const at = lineIndex(lines, pattern, from);
    expect(at, `${String(pattern)} after line ${from}`).toBeGreaterThanOrEqual(0);
    from = at + 1;
  }
}

describe('tandem demo (real binary)', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const child of running) killGroup(child);
    running.clear();
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  it('runs the four scripted demo tasks to DONE and leaves branches whose tests pass', { timeout: 120_000 }, async () => {
    const tmp = await realpath(await mkdtemp(join(tmpdir(), 'tandem-demo-test-')));
    dirs.push(tmp);
    const demoDir = join(tmp, 'demo');

    const demo = await run(process.execPath, [bin, 'demo', '--dir', demoDir], { cwd: tmp, timeoutMs: 120_000 });
    expect(demo.code, `stdout:\n${demo.stdout}\nstderr:\n${demo.stderr}`).toBe(0);

    const out = demo.stdout;
    const lines = out.split('\n');
    expect(out).toContain('SCRIPTED');
    expect(out).toContain(`demo repository: ${join(demoDir, 'repo')}`);

    // DEMO-2: the code review asks for changes on attempt 1, and approves attempt 2.
    expectInOrder(lines, [
      /DEMO-2 +CODE_REVIEW +step S1 \(1\/2\) +attempt 1/,
      /DEMO-2 +S1 code-reviewer .*needs_changes/,
      /DEMO-2 +IMPLEMENTING +step S1 \(1\/2\) +attempt 2/,
      /DEMO-2 +CODE_REVIEW +step S1 \(1\/2\) +attempt 2/,
      /DEMO-2 +S1 code-reviewer .*approved/,
      /DEMO-2 +S1 committed [0-9a-f]+ on tandem\/DEMO-2/,
    ]);
    // DEMO-3: the quality gate fails attempt 1 (real tests), attempt 2 passes.
    expectInOrder(lines, [
      /DEMO-3 +QUALITY_GATE +step S1 \(1\/1\) +attempt 1/,
      // Each check as it starts and finishes, then the gate's verdict.
      /DEMO-3 +S1 quality gate +tests …$/,
      /DEMO-3 +S1 quality gate +✗ tests \(\d+(ms|\.\ds)\)$/,
      /DEMO-3 +S1 quality gate +✗ 1 of 1 checks failed/,
      /DEMO-3 +IMPLEMENTING +step S1 \(1\/1\) +attempt 2/,
      /DEMO-3 +QUALITY_GATE +step S1 \(1\/1\) +attempt 2/,
      /DEMO-3 +S1 quality gate +✓ 1\/1 checks passed/,
      /DEMO-3 +DONE/,
    ]);
    // DEMO-1 passes first time: every one of its steps is on attempt 1.
    const demo1 = lines.filter((l) => /DEMO-1 +(IMPLEMENTING|CODE_REVIEW|QUALITY_GATE) /.test(l));
    expect(demo1).toHaveLength(6);
    expect(demo1.filter((l) => !/attempt 1\s*$/.test(l))).toEqual([]);

    // After its last step each task is validated, and passes (the script's defaults.validator).
    for (const task of ['DEMO-1', 'DEMO-2', 'DEMO-3', 'DEMO-4'])
      expect(
        lines.filter((l) => new RegExp(`${task} +validator +.*✓ pass`).test(l)),
        task,
      ).toHaveLength(1);

    // The summary table: three DONE rows with their branches.
    expectInOrder(lines, [
      /^TASK +STATE +STEPS +MODEL CALLS +COST +TIME +BRANCH$/,
      /^DEMO-1 +DONE +2\/2 +.* tandem\/DEMO-1$/,
      /^DEMO-2 +DONE +2\/2 +.* tandem\/DEMO-2$/,
      /^DEMO-3 +DONE +1\/1 +.* tandem\/DEMO-3$/,
      /^DEMO-4 +DONE +1\/1 +.* tandem\/DEMO-4$/,
    ]);

    const repo = join(demoDir, 'repo');
    expect((await git(repo, 'branch', '--format=%(refname:short)')).split('\n').sort()).toEqual([
      'main',
      'tandem/DEMO-1',
      'tandem/DEMO-2',
      'tandem/DEMO-3',
      'tandem/DEMO-4',
    ]);
    expect(await git(repo, 'rev-list', '--count', 'main')).toBe('1');
    expect(await git(repo, 'status', '--porcelain')).toBe('');
    const expectedCommits = { 'DEMO-1': '2', 'DEMO-2': '2', 'DEMO-3': '1' } as const;
    for (const [task, count] of Object.entries(expectedCommits)) {
      expect(await git(repo, 'rev-list', '--count', `main..tandem/${task}`), task).toBe(count);
      const steps = await git(repo, 'log', '--reverse', '--format=%(trailers:key=Tandem-Task,valueonly,separator=)', `main..tandem/${task}`);
      expect(steps.split('\n'), task).toEqual(Array.from({ length: Number(count) }, () => task));
    }
    // DEMO-4, the analysis task, made no commit: its findings are its result.
    expect(await git(repo, 'rev-list', '--count', 'main..tandem/DEMO-4')).toBe('0');
    expect(await git(repo, 'show', 'tandem/DEMO-1:src/strings.js')).toContain('export function slugify(text)');
    expect(await git(repo, 'show', 'tandem/DEMO-2:src/cart.js')).toContain('export function totalCents(cart, discountPercent = 0)');

    // The demo repository's own tests pass on every branch tip.
    const results = await Promise.all(
      Object.keys(expectedCommits).map(async (task) => {
        const dir = join(tmp, 'tips', task);
        await mkdir(dir, { recursive: true });
        const tar = join(tmp, 'tips', `${task}.tar`);
        await git(repo, 'archive', '--format=tar', '-o', tar, `tandem/${task}`);
        const untar = await run('tar', ['-xf', tar, '-C', dir], { cwd: tmp, timeoutMs: 30_000 });
        expect(untar.code, untar.stderr).toBe(0);
        const tests = await run(process.execPath, ['--test', '--test-reporter=tap'], { cwd: dir, timeoutMs: 60_000 });
        return { task, code: tests.code, tail: tests.stdout.split('\n').slice(-12).join('\n') };
      }),
    );
    for (const result of results) {
      expect(result.code, `${result.task}:\n${result.tail}`).toBe(0);
      expect(result.tail, result.task).toMatch(/^# fail 0$/m);
    }
  });
});
