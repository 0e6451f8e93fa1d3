import { spawn, type ChildProcess } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, readdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ownerIdOf } from '../../src/intake/claim-file.js';
import { createGitRepo, type GitRepo } from '../helpers/git-repo.js';
import { tandemBin } from '../helpers/tandem-process.js';
import { loggedEvents, taskFile, waitUntil } from './watcher-harness.js';

/**
 * `tandem watch` as real OS processes on real files and a real repository: two watchers racing for
 * the same files, a file written slowly in pieces, and a watcher killed with SIGKILL mid-way and
 * started again. Every task must run exactly once (one NEW, one finish, one commit on its branch)
 * and no file may be lost. The real `tandem` binary runs, from the built dist/ (see global-build.ts).
 */

const SCRIPT = `defaults:
  planner: [ { respond: { task_id: X, steps: [ { id: S1, type: implementation, description: Write the note } ] } } ]
  plan-reviewer: [ { respond: { status: approved } } ]
  implementer: [ { edits: [ { path: note.txt, content: "done\\n" } ], respond: { explanation: wrote the note, confidence: 0.9 } } ]
  code-reviewer: [ { respond: { status: approved } } ]
`;

function config(gateCommand: string, concurrency: number): string {
  return `concurrency: ${concurrency}\ngate:\n  checks:\n    - name: ok\n      command: ${JSON.stringify(gateCommand)}\n      timeout_ms: 30000\n`;
}

interface WatcherProcess {
  readonly child: ChildProcess;
  output(): string;
  readonly exited: Promise<number | string>;
  /** SIGTERM, then waits for the exit (SIGKILL to the group after 15 s). */
  stop(): Promise<number | string>;
  kill(): Promise<number | string>;
}

const running = new Set<WatcherProcess>();

describe('tandem watch (real processes)', () => {
  let work: string;
  let inbox: string;
  let repo: GitRepo;

  beforeEach(async () => {
    work = await realpath(await mkdtemp(join(tmpdir(), 'tandem-watch-int-')));
    inbox = join(work, 'inbox');
    await mkdir(inbox);
    repo = await createGitRepo({ 'README.md': '# project\n' });
    await writeFile(join(work, 'script.yaml'), SCRIPT);
  });

  afterEach(async () => {
    for (const proc of running) await proc.kill();
    running.clear();
    await repo.cleanup();
    await rm(work, { recursive: true, force: true });
  });

  function startWatcher(state: string, extra: readonly string[] = []): WatcherProcess {
    const args = [
      'watch',
      inbox,
      '--repo',
      repo.dir,
      '--runner',
      'scripted',
      '--script',
      join(work, 'script.yaml'),
      '--config',
      join(work, 'tandem.config.yaml'),
    ];
    args.push('--state-dir', join(work, state), '--no-mediator', '--log-level', 'error', '--settle-ms', '300', '--poll-ms', '50', ...extra);
    const child = spawn(process.execPath, [tandemBin, ...args], {
      cwd: work,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
    const killGroup = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const proc: WatcherProcess = {
      child,
      output: () => out,
      exited,
      async stop() {
        child.kill('SIGTERM');
        const timer = setTimeout(killGroup, 15_000);
        const code = await exited;
        clearTimeout(timer);
        return code;
      },
      async kill() {
        killGroup();
        return exited;
      },
    };
    running.add(proc);
    void exited.then(() => running.delete(proc));
    return proc;
  }

  async function started(proc: WatcherProcess): Promise<void> {
    await waitUntil(
      `the watcher to start (output: ${proc.output()})`,
      () => Promise.resolve(proc.output().includes('watching ') || proc.child.exitCode !== null),
      20_000,
    );
    expect(proc.output()).toContain(`watching ${inbox}`);
  }

  const list = async (sub: string): Promise<string[]> => (await readdir(join(inbox, sub)).catch(() => [] as string[])).sort();
  const storedIds = async (state: string): Promise<string[]> =>
    (await readdir(join(work, state, 'store', 'tasks')).catch(() => [] as string[])).map((f) => f.replace(/\.json$/, '')).sort();

  /**
   * Ran exactly once: its states never go back to NEW (a task resumed while still queued announces
   * NEW again, so repeats in a row are one), it finished once, DONE, with one commit on its branch.
   */
  async function expectRunOnce(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      const events = await loggedEvents(inbox, id);
      const states = events.filter((e) => e.type === 'task.state').map((e) => e.state);
      const news = states.filter((state, i) => state === 'NEW' && states[i - 1] !== 'NEW').length;
      const finishes = events.filter((e) => e.type === 'task.finished').map((e) => e.state);
      const commits = (await repo.git('log', '--format=%s', `main..tandem/${id}`)).split('\n');
      // A failure's reason travels with the assertion, so a red run says why, not only that.
      const reasons = events.filter((e) => e.type === 'task.finished' && e.state !== 'DONE').map((e) => JSON.stringify(e));
      if (reasons.length > 0) reasons.push(await readFile(join(inbox, 'results', `${id}.md`), 'utf8').catch(() => 'no result file'));
      expect({ id, news, last: states.at(-1), finishes, commits, reasons }).toEqual({
        id,
        news: 1,
        last: 'DONE',
        finishes: ['DONE'],
        commits: ['S1: Write the note'],
        reasons: [],
      });
    }
  }

  it('two watcher processes racing for the same 40 files take each file exactly once', { timeout: 90_000 }, async () => {
    await writeFile(join(work, 'tandem.config.yaml'), config('true', 6));
    const a = startWatcher('state-a');
    const b = startWatcher('state-b');
    await started(a);
    await started(b);
    const ids = Array.from({ length: 40 }, (_, i) => `R${String(i + 1).padStart(2, '0')}`);
    await Promise.all(ids.map((id) => writeFile(join(inbox, `${id.toLowerCase()}.task.md`), taskFile(id))));
    await waitUntil('all 40 files to be processed', async () => (await list('processed')).length === 40, 75_000);
    expect(await a.stop()).toBe(130); // a stop by signal, like `run`
    expect(await b.stop()).toBe(130); // a stop by signal, like `run`

    expect(await list('processed')).toEqual(ids.map((id) => `${id.toLowerCase()}.task.md`));
    expect(await list('results')).toEqual(ids.map((id) => `${id}.md`));
    expect(await list('rejected')).toEqual([]);
    const byA = await storedIds('state-a');
    const byB = await storedIds('state-b');
    expect(byA.filter((id) => byB.includes(id))).toEqual([]);
    expect([...byA, ...byB].sort()).toEqual(ids);
    // Both really raced: each took some of the files.
    expect(byA.length).toBeGreaterThan(0);
    expect(byB.length).toBeGreaterThan(0);
    await expectRunOnce(ids);
  });

  it('a flood of 60 files dropped at once into a running watcher: every task runs exactly once, nothing is lost', { timeout: 120_000 }, async () => {
    await writeFile(join(work, 'tandem.config.yaml'), config('true', 6));
    const w = startWatcher('state');
    await started(w);
    const ids = Array.from({ length: 60 }, (_, i) => `F${String(i + 1).padStart(2, '0')}`);
    await Promise.all(ids.map((id) => writeFile(join(inbox, `${id.toLowerCase()}.task.md`), taskFile(id))));
    await waitUntil('all 60 files to be processed', async () => (await list('processed')).length === 60, 100_000);
    await waitUntil('all 60 results', async () => (await list('results')).length === 60, 10_000);
    expect(await w.stop()).toBe(130); // a stop by signal, like `run`
    expect(await list('processed')).toEqual(ids.map((id) => `${id.toLowerCase()}.task.md`));
    expect(await list('results')).toEqual(ids.map((id) => `${id}.md`));
    expect(await list('rejected')).toEqual([]);
    expect(await storedIds('state')).toEqual(ids);
    await expectRunOnce(ids);
  });

  it('reads a file written slowly in pieces only once it is complete', { timeout: 60_000 }, async () => {
    await writeFile(join(work, 'tandem.config.yaml'), config('true', 2));
    const w = startWatcher('state', ['--settle-ms', '500']);
    await started(w);
    // The first pieces alone are an invalid task file: reading one early would reject it.
    const pieces = ['---\nid: SLOW\n', '---\n# Task: slow note\n', '\n**Prompt:**\n', 'Write the slow note,', ' every word of it.\n'];
    const file = join(inbox, 'slow.task.md');
    for (const piece of pieces) {
      await appendFile(file, piece);
      await new Promise((r) => setTimeout(r, 200));
    }
    await waitUntil('the slow file to be processed', async () => (await list('processed')).includes('slow.task.md'), 30_000);
    await waitUntil('its result', async () => (await list('results')).includes('SLOW.md'), 10_000);
    expect(await w.stop()).toBe(130); // a stop by signal, like `run`
    expect(await list('rejected')).toEqual([]);
    expect(await readFile(join(inbox, 'results', 'SLOW.md'), 'utf8')).toContain('## Goal\n\nWrite the slow note, every word of it.\n');
    await expectRunOnce(['SLOW']);
  });

  it('a watcher killed with SIGKILL mid-way and started again runs every task exactly once', { timeout: 90_000 }, async () => {
    // A slow gate keeps tasks in flight when the kill comes.
    await writeFile(join(work, 'tandem.config.yaml'), config('sleep 0.4', 2));
    const ids = Array.from({ length: 8 }, (_, i) => `K${i + 1}`);
    const first = startWatcher('state');
    await started(first);
    await Promise.all(ids.map((id) => writeFile(join(inbox, `${id.toLowerCase()}.task.md`), taskFile(id))));
    await waitUntil('three tasks to start', async () => (await list('logs')).length >= 3, 30_000);
    expect(await first.kill()).toBe('SIGKILL');
    const claims = join(inbox, '.claimed', ownerIdOf(join(work, 'state')));
    const claimedAtKill = (await readdir(claims)).filter((n) => n.endsWith('.task.md'));
    expect(claimedAtKill.length).toBeGreaterThan(0);
    expect((await list('processed')).length).toBeLessThan(ids.length);

    const second = startWatcher('state', ['--once']);
    expect(await second.exited).toBe(0);
    expect(await list('processed')).toEqual(ids.map((id) => `${id.toLowerCase()}.task.md`));
    expect(await list('results')).toEqual(ids.map((id) => `${id}.md`));
    expect(await list('rejected')).toEqual([]);
    expect((await readdir(claims)).filter((n) => !n.startsWith('.'))).toEqual([]);
    await expectRunOnce(ids);
  });
});
