import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { access, chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commitStep, ensureWorktree } from '../../src/workspace/worktree.js';
import { createGitRepo, type GitRepo } from '../helpers/git-repo.js';
import { waitFor } from '../helpers/tandem-process.js';

/**
 * A supervisor killed with SIGKILL kills the git it runs, wherever it stands. What git leaves then
 * (a half-made worktree, a lock file) must not stop the supervisor that takes the task over: the
 * flake of the distributed kill -9 test (a task ended FAILED) was a `git worktree add` killed
 * before it put HEAD on the branch, which the next `ensure` refused as "a worktree on a detached
 * HEAD" (a NEW task's prepare error is FAILED in the chart).
 *
 * Each case stops a real git at a chosen point, deterministically, and kills it there: `git
 * worktree add` runs its steps as child gits found through GIT_EXEC_PATH, so a stand-in there
 * pauses the one named; a pre-commit hook pauses a commit while it holds the index lock (`-a`).
 */

const execFileAsync = promisify(execFile);
const realGit = (await execFileAsync('sh', ['-c', 'command -v git'])).stdout.trim();
const gitExecPath = (await execFileAsync(realGit, ['--exec-path'])).stdout.trim();

let repo: GitRepo;
let scratch: string;
let paused: ChildProcess | undefined;

beforeEach(async () => {
  const files = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`src/f${i}.txt`, `file ${i}\n`]));
  repo = await createGitRepo({ 'README.md': '# demo\n', ...files });
  scratch = await mkdtemp(join(tmpdir(), 'tandem-killed-git-'));
});
afterEach(async () => {
  if (paused?.pid !== undefined && paused.exitCode === null && paused.signalCode === null) process.kill(-paused.pid, 'SIGKILL');
  await repo.cleanup();
  await rm(scratch, { recursive: true, force: true });
});

/** Runs `git args` in `cwd`; once the child git `step` starts (or the hook runs), kills the whole group. */
async function killGitAt(cwd: string, args: readonly string[], step: string | undefined): Promise<void> {
  const marker = join(scratch, 'paused');
  const shim = join(scratch, 'exec');
  await execFileAsync('mkdir', ['-p', shim]);
  await writeFile(
    join(shim, 'git'),
    `#!/bin/sh\nif [ "$1" = "${step ?? '-'}" ]; then touch "${marker}"; exec sleep 60; fi\nGIT_EXEC_PATH="${gitExecPath}" exec "${realGit}" "$@"\n`,
  );
  await chmod(join(shim, 'git'), 0o755);
  paused = spawn(realGit, args, {
    cwd,
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, LC_ALL: 'C', ...(step === undefined ? {} : { GIT_EXEC_PATH: shim }), TANDEM_TEST_MARKER: marker },
  });
  const child = paused;
  const exited = new Promise((resolve) => child.on('exit', resolve));
  await waitFor(
    `git to reach ${step ?? 'the hook'}`,
    () =>
      access(marker).then(
        () => true,
        () => (child.exitCode === null ? undefined : Promise.reject(new Error(`git exited (${child.exitCode}) before it paused`))),
      ),
    20_000,
  );
  process.kill(-(child.pid ?? 0), 'SIGKILL');
  await exited;
}

const worktreesDir = (): string => join(repo.dir, '.tandem', 'worktrees');

/** The worktree is whole: on its branch, every file checked out, nothing changed, not locked. */
async function expectWhole(path: string): Promise<void> {
  const inTree = async (...args: string[]): Promise<string> => (await execFileAsync('git', ['-C', path, ...args])).stdout.trim();
  expect({
    branch: await inTree('rev-parse', '--abbrev-ref', 'HEAD'),
    head: await inTree('rev-parse', 'HEAD'),
    status: await inTree('status', '--porcelain'),
    readme: await readFile(join(path, 'README.md'), 'utf8'),
    entries: (await repo.git('worktree', 'list', '--porcelain')).split('\n\n').filter((e) => e.includes('/K7')).length,
    locked: (await repo.git('worktree', 'list', '--porcelain')).includes('locked'),
  }).toEqual({ branch: 'tandem/K7', head: repo.head, status: '', readme: '# demo\n', entries: 1, locked: false });
}

describe('a git killed mid-way by a supervisor kill -9', () => {
  // symbolic-ref: the worktree is registered with HEAD not yet on its branch (git lists it detached);
  // reset: HEAD is on the branch but the checkout has not run (every file would look deleted).
  for (const step of ['branch', 'symbolic-ref', 'reset']) {
    it(`\`git worktree add -b\` killed at its \`${step}\`: the next ensure gives the task a whole worktree on its branch`, async () => {
      const path = join(worktreesDir(), 'K7');
      await killGitAt(repo.dir, ['worktree', 'add', '-b', 'tandem/K7', path, repo.head], step);

      const wt = await ensureWorktree({ repo: repo.dir, taskId: 'K7', baseCommit: repo.head, worktreesDir: worktreesDir() });

      expect(wt).toEqual({ path, branch: 'tandem/K7', baseCommit: repo.head });
      await expectWhole(path);
    });
  }

  it('a ref lock left on the task branch (killed while creating it) does not stop the next ensure', async () => {
    await repo.git('branch', 'tandem/K7', repo.head);
    await writeFile(join(repo.dir, '.git', 'refs', 'heads', 'tandem', 'K7.lock'), '');

    const wt = await ensureWorktree({ repo: repo.dir, taskId: 'K7', baseCommit: repo.head, worktreesDir: worktreesDir() });

    await expectWhole(wt.path);
  });

  it('a commit killed while it holds the index lock: the step is committed once by the next try', async () => {
    const wt = await ensureWorktree({ repo: repo.dir, taskId: 'K7', baseCommit: repo.head, worktreesDir: worktreesDir() });
    await writeFile(join(wt.path, 'notes.txt'), 'written\n');
    const hook = join(repo.dir, '.git', 'hooks', 'pre-commit');
    await writeFile(hook, '#!/bin/sh\nif [ -n "$TANDEM_TEST_MARKER" ]; then touch "$TANDEM_TEST_MARKER"; exec sleep 60; fi\n');
    await chmod(hook, 0o755);
    await repo.git('-C', wt.path, 'add', '-A');
    await killGitAt(wt.path, ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-a', '-q', '-m', 'S1: half'], undefined);
    const gitDir = await repo.git('-C', wt.path, 'rev-parse', '--absolute-git-dir');
    await access(join(gitDir, 'index.lock'));

    const commit = await commitStep(wt.path, { taskId: 'K7', stepId: 'S1', attempt: 1, message: 'S1: write the notes', baseCommit: repo.head });

    expect(commit.created).toBe(true);
    expect(await repo.git('log', '--format=%s', `${repo.head}..tandem/K7`)).toBe('S1: write the notes');
    expect(await repo.git('-C', wt.path, 'status', '--porcelain')).toBe('');
  });
});
