import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createGitRepo, type GitRepo } from '../helpers/git-repo.js';
import { readTaskState, startTandem, stopAllTandems, waitFor, type TandemProcess } from '../helpers/tandem-process.js';
import { taskFile } from '../intake/watcher-harness.js';
import { startNatsServer } from '../helpers/nats-server.js';
import { observe, startService } from '../helpers/tandem-services.js';

/**
 * Ctrl-C / SIGTERM on the real `tandem run` process: the first signal lets the calls in flight
 * answer and starts nothing new (a PAUSED task makes no call), the second stops at once; both exit
 * 130 with the resume hint and leave no process and no lock behind, and `tandem resume` finishes.
 */

const reviewers = `defaults:
  plan-reviewer: [ { respond: { status: approved } } ]
  code-reviewer: [ { respond: { status: approved } } ]
`;

function planner(id: string): string {
  return `    planner:
      - respond: { task_id: ${id}, steps: [ { id: S1, type: implementation, description: Write the greeting } ] }
`;
}

function implementer(turn: string): string {
  return `    steps:
      S1:
        implementer:
          - ${turn}
            edits: [ { path: greeting.txt, content: "hello\\n" } ]
            respond: { explanation: wrote the greeting, confidence: 0.9 }
`;
}

const gate = `gate:
  checks:
    - { name: greeting, command: grep -q hello greeting.txt, timeout_ms: 30000 }
`;

function alive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('stopping a run with Ctrl-C / SIGTERM (real processes)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    stopAllTandems();
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  async function setup(script: string, tasks: string) {
    const repo: GitRepo = await createGitRepo({ 'README.md': '# project\n' });
    const dir = await mkdtemp(join(tmpdir(), 'tandem-stop-'));
    cleanups.push(
      () => repo.cleanup(),
      () => rm(dir, { recursive: true, force: true }),
    );
    await writeFile(join(dir, 'tasks.yaml'), tasks);
    await writeFile(join(dir, 'script.yaml'), script);
    await writeFile(join(dir, 'tandem.config.yaml'), gate);
    const state = join(dir, 'state');
    const args = ['run', 'tasks.yaml', '--repo', repo.dir, '--runner', 'scripted', '--script', 'script.yaml', '--state-dir', state];
    return { repo, dir, state, args };
  }

  async function expectStopped(proc: TandemProcess, state: string): Promise<void> {
    expect(await proc.exited, proc.output()).toBe(130);
    expect(proc.output()).toContain('`tandem resume` continues');
    expect(alive(proc.pid)).toBe(false);
    expect(existsSync(join(state, 'store', '.lock'))).toBe(false);
  }

  const oneTask = 'tasks:\n  - id: T1\n    goal: Write a greeting\n';

  it('the first Ctrl-C lets the call in flight answer, starts no new call, exits 130; resume finishes', async () => {
    const { repo, dir, state, args } = await setup(`${reviewers}tasks:\n  T1:\n${planner('T1')}${implementer('delay_ms: 2500')}`, oneTask);
    const run = startTandem(args, { cwd: dir });
    await waitFor('T1 to implement', async () => ((await readTaskState(state, 'T1')) === 'IMPLEMENTING' ? true : undefined));
    await new Promise((r) => setTimeout(r, 300));
    const sent = Date.now();
    process.kill(run.pid, 'SIGINT');
    await expectStopped(run, state);
    const took = Date.now() - sent;
    expect(run.output()).toContain('stopping: finishing 1 call (Ctrl-C again to stop now); `tandem resume` continues');
    // The implementer answered (it was not cancelled) and no reviewer was called after it.
    expect(took).toBeGreaterThan(1_000);
    expect(took).toBeLessThan(10_000);
    expect(run.output()).toMatch(/S1 implementer .*✓/);
    expect(run.output()).not.toMatch(/code-reviewer .*✓/);
    expect(await readTaskState(state, 'T1')).toBe('CODE_REVIEW');

    const resume = startTandem(['resume', '--state-dir', state], { cwd: dir });
    expect(await resume.exited, resume.output()).toBe(0);
    expect(resume.output()).toMatch(/^T1 +DONE +1\/1/m);
    expect(await repo.git('show', 'tandem/T1:greeting.txt')).toBe('hello');
  }, 60_000);

  it('the second Ctrl-C cancels a call that hangs, at once, and exits 130', async () => {
    const { dir, state, args } = await setup(
      `${reviewers}tasks:\n  T1:\n${planner('T1')}    steps:\n      S1:\n        implementer:\n          - hang: true\n`,
      oneTask,
    );
    const run = startTandem(args, { cwd: dir });
    await waitFor('T1 to implement', async () => ((await readTaskState(state, 'T1')) === 'IMPLEMENTING' ? true : undefined));
    await new Promise((r) => setTimeout(r, 300));
    process.kill(run.pid, 'SIGINT');
    await waitFor('the stopping notice', () => Promise.resolve(run.output().includes('stopping: finishing 1 call') ? true : undefined), 5_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(alive(run.pid)).toBe(true);
    const sent = Date.now();
    process.kill(run.pid, 'SIGINT');
    await expectStopped(run, state);
    expect(Date.now() - sent).toBeLessThan(2_500);
    expect(await readTaskState(state, 'T1')).toBe('IMPLEMENTING');
  }, 60_000);

  it('SIGTERM stops a run whose task is PAUSED (rate limit) and another waits for a person, without a new call', async () => {
    const until = Date.now() + 3_600_000;
    const script = `${reviewers}tasks:
  T1:
${planner('T1')}${implementer(`rate_limited_until: ${until}`)}  T2:
${planner('T2')}    plan-reviewer:
      - respond: { status: rejected, review: { concerns: [ no test step ] } }
`;
    const tasks = 'tasks:\n  - id: T1\n    goal: Write a greeting\n  - id: T2\n    goal: Write a greeting\n';
    const { dir, state, args } = await setup(script, tasks);
    const run = startTandem(args, { cwd: dir });
    await waitFor('T1 paused and T2 waiting', async () => {
      const both = [await readTaskState(state, 'T1'), await readTaskState(state, 'T2')];
      return both[0] === 'PAUSED' && both[1] === 'AWAITING_HUMAN_REVIEW' ? true : undefined;
    });
    await new Promise((r) => setTimeout(r, 300));
    const callsBefore = (run.output().match(/implementer /g) ?? []).length;
    const sent = Date.now();
    process.kill(run.pid, 'SIGTERM');
    await expectStopped(run, state);
    expect(Date.now() - sent).toBeLessThan(3_000);
    expect(run.output()).toContain('stopping: finishing 0 calls');
    expect((run.output().match(/implementer /g) ?? []).length).toBe(callsBefore);
    expect(await readTaskState(state, 'T1')).toBe('PAUSED');
    expect(await readTaskState(state, 'T2')).toBe('AWAITING_HUMAN_REVIEW');
  }, 60_000);

  it('a run whose tasks all wait for a person exits by itself with 3', async () => {
    const script = `${reviewers}tasks:
  T1:
${planner('T1')}    plan-reviewer:
      - respond: { status: rejected, review: { concerns: [ no test step ] } }
  T2:
${planner('T2')}    plan-reviewer:
      - respond: { status: rejected, review: { concerns: [ no test step ] } }
`;
    const tasks = 'tasks:\n  - id: T1\n    goal: Write a greeting\n  - id: T2\n    goal: Write a greeting\n';
    const { dir, state, args } = await setup(script, tasks);
    const run = startTandem(args, { cwd: dir });
    expect(await run.exited, run.output()).toBe(3);
    expect(run.output()).toContain('T1 waits for a person');
    expect(run.output()).toContain('T2 waits for a person');
    expect(existsSync(join(state, 'store', '.lock'))).toBe(false);
  }, 60_000);
});

describe('stopping `tandem watch` with Ctrl-C (real processes), as a run stops', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    stopAllTandems();
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  /** `tandem watch inbox` on a fresh repository, with one task file dropped in. */
  async function watching(script: string) {
    const repo: GitRepo = await createGitRepo({ 'README.md': '# project\n' });
    const dir = await mkdtemp(join(tmpdir(), 'tandem-stop-watch-'));
    cleanups.push(
      () => repo.cleanup(),
      () => rm(dir, { recursive: true, force: true }),
    );
    await mkdir(join(dir, 'inbox'));
    await writeFile(join(dir, 'script.yaml'), script);
    await writeFile(join(dir, 'tandem.config.yaml'), gate);
    const state = join(dir, 'state');
    const args = [
      'watch',
      'inbox',
      '--repo',
      repo.dir,
      '--runner',
      'scripted',
      '--script',
      'script.yaml',
      '--state-dir',
      state,
      '--settle-ms',
      '100',
      '--no-mediator',
    ];
    const proc = startTandem(args, { cwd: dir });
    await waitFor('the watcher to start', () => Promise.resolve(proc.output().includes('watching ') ? true : undefined));
    await writeFile(join(dir, 'inbox', 'w1.task.md'), taskFile('W1', 'Write the greeting.'));
    await waitFor('W1 to implement', async () => ((await readTaskState(state, 'W1')) === 'IMPLEMENTING' ? true : undefined));
    await new Promise((r) => setTimeout(r, 300));
    return { proc, state };
  }

  async function expectInterrupted(proc: TandemProcess, state: string): Promise<void> {
    expect(await proc.exited, proc.output()).toBe(130);
    expect(proc.output()).toContain('tandem: interrupted; every task stopped where it stood. `tandem resume` (or the next start) continues them.');
    expect(alive(proc.pid)).toBe(false);
    expect(existsSync(join(state, 'store', '.lock'))).toBe(false);
  }

  it('the first Ctrl-C says so, lets the call in flight answer, starts no new call and exits 130', async () => {
    const { proc, state } = await watching(`${reviewers}tasks:\n  W1:\n${planner('W1')}${implementer('delay_ms: 2500')}`);
    process.kill(proc.pid, 'SIGINT');
    await expectInterrupted(proc, state);
    expect(proc.output()).toContain('stopping: finishing 1 call (Ctrl-C again to stop now); `tandem resume` continues');
    expect(proc.output()).toMatch(/S1 implementer .*✓/);
    expect(proc.output()).not.toMatch(/code-reviewer .*✓/);
    expect(await readTaskState(state, 'W1')).toBe('CODE_REVIEW');
  }, 60_000);

  it('the second Ctrl-C cancels a call that hangs and exits 130', async () => {
    const { proc, state } = await watching(`${reviewers}tasks:\n  W1:\n${planner('W1')}    steps:\n      S1:\n        implementer:\n          - hang: true\n`);
    process.kill(proc.pid, 'SIGINT');
    await waitFor('the stopping notice', () => Promise.resolve(proc.output().includes('stopping: finishing 1 call') ? true : undefined), 5_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(alive(proc.pid)).toBe(true);
    process.kill(proc.pid, 'SIGINT');
    await expectInterrupted(proc, state);
    expect(proc.output()).toContain('stopping now: the calls in flight are cancelled');
    expect(await readTaskState(state, 'W1')).toBe('IMPLEMENTING');
  }, 60_000);
});

describe('stopping `tandem serve` with Ctrl-C (real processes and nats-server), as a run stops', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    stopAllTandems();
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it('the first Ctrl-C says which calls it finishes and keeps the hanging call, the second hands it back at once; exit 130', async () => {
    const nats = await startNatsServer();
    const repo: GitRepo = await createGitRepo({ 'README.md': '# project\n' });
    const dir = await mkdtemp(join(tmpdir(), 'tandem-stop-serve-'));
    const observer = await observe(nats.url);
    cleanups.push(
      () => observer.close(),
      () => nats.cleanup(),
      () => repo.cleanup(),
      () => rm(dir, { recursive: true, force: true }),
    );
    const script = `${reviewers}tasks:\n  V1:\n${planner('V1')}    steps:\n      S1:\n        implementer:\n          - hang: true\n`;
    await writeFile(join(dir, 'script.yaml'), script);
    await writeFile(join(dir, 'tandem.config.yaml'), gate);
    await writeFile(join(dir, 'tasks.yaml'), 'tasks:\n  - id: V1\n    goal: Write a greeting\n');
    const setup = { natsUrl: nats.url, stateDir: join(dir, 'state'), script: join(dir, 'script.yaml'), config: join(dir, 'tandem.config.yaml'), cwd: dir };
    // A hand-back far away: only the second signal may hand the call back.
    const service = await startService(setup, 'all-1', ['all'], ['--hand-back-ms', '60000']);
    const submit = startTandem(['submit', 'tasks.yaml', '--repo', repo.dir, '--nats', nats.url, '--config', setup.config, '--state-dir', setup.stateDir], {
      cwd: dir,
    });
    expect(await submit.exited, submit.output()).toBe(0);
    await waitFor('V1 to implement', async () => ((await observer.records()).find((r) => r.id === 'V1')?.state === 'IMPLEMENTING' ? true : undefined));
    await new Promise((r) => setTimeout(r, 500));
    process.kill(service.pid, 'SIGINT');
    await waitFor('the stopping notice', () => Promise.resolve(service.output().includes('stopping: finishing 1 call') ? true : undefined), 5_000);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(alive(service.pid)).toBe(true);
    process.kill(service.pid, 'SIGINT');
    expect(await service.exited, service.output()).toBe(130);
    const output = service.output();
    expect(output).toContain('stopping: finishing 1 call (Ctrl-C again to stop now); the tasks continue on the next supervisor');
    expect(output).toContain('stopping now: the calls in flight go back to the queue');
    // It stopped by itself (its last line), not by the forced exit after the second signal.
    expect(output).toMatch(/tandem serve: stopped \(/);
    expect((await observer.records()).find((r) => r.id === 'V1')?.state).toBe('IMPLEMENTING');
  }, 90_000);
});
