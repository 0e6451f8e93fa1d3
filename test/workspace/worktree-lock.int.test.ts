import { spawn } from 'node:child_process';
import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WorkspaceError } from '../../src/platform/errors.js';
import { ensureWorktree } from '../../src/workspace/worktree.js';
import { withLockFile, withWorktreeLock } from '../../src/workspace/worktree-lock.js';
import { createGitRepo, type GitRepo } from '../helpers/git-repo.js';

/**
 * git's worktree list is loose files written without a lock, so concurrent `worktree add`s from two
 * processes break each other (a run without the lock failed one or two of 60 adds). Two real
 * processes each add and commit in 25 worktrees of one repository, six at a time: none may fail.
 */

const lockUrl = pathToFileURL(fileURLToPath(new URL('../../dist/workspace/worktree-lock.js', import.meta.url))).href;
const worktreeUrl = pathToFileURL(fileURLToPath(new URL('../../dist/workspace/worktree.js', import.meta.url))).href;

const WORKER = `
import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureWorktree, commitStep } from ${JSON.stringify(worktreeUrl)};
const [repo, prefix] = process.argv.slice(1);
const queue = Array.from({ length: 25 }, (_, i) => prefix + i);
const failures = [];
await Promise.all(Array.from({ length: 6 }, async () => {
  for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
    try {
      const wt = await ensureWorktree({ repo, taskId: id, baseCommit: 'main', worktreesDir: join(repo, '.tandem', 'worktrees') });
      await writeFile(join(wt.path, 'note.txt'), id);
      await commitStep(wt.path, { taskId: id, stepId: 'S1', attempt: 1, message: 'S1: note', baseCommit: wt.baseCommit });
    } catch (error) {
      failures.push(id + ': ' + error.message);
    }
  }
}));
process.stdout.write(JSON.stringify(failures));
`;

function runWorker(repo: string, prefix: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', WORKER, '--', repo, prefix], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe('withWorktreeLock', () => {
  let repo: GitRepo;
  beforeEach(async () => {
    repo = await createGitRepo({ 'README.md': '# r\n' });
  });
  afterEach(async () => {
    await repo.cleanup();
  });

  it('two processes adding 25 worktrees each into one repository never break each other', { timeout: 90_000 }, async () => {
    const [a, b] = await Promise.all([runWorker(repo.dir, 'A'), runWorker(repo.dir, 'B')]);
    expect({ code: a.code, out: a.out }).toEqual({ code: 0, out: '[]' });
    expect({ code: b.code, out: b.out }).toEqual({ code: 0, out: '[]' });
    const branches = (await repo.git('branch', '--list', 'tandem/*', '--format=%(refname:short)')).split('\n');
    expect(branches).toHaveLength(50);
    for (const branch of branches) expect(await repo.git('log', '--format=%s', `main..${branch}`)).toBe('S1: note');
    // The lock file is gone once both are done.
    expect(await repo.git('status', '--porcelain', '--ignored')).not.toContain('lock');
  });

  it('the lock file is never seen empty while another process takes and releases it (an empty one would be taken over as torn)', async () => {
    const lockFile = join(repo.dir, '.git', 'tandem-race.lock');
    const locker = `import { withLockFile } from ${JSON.stringify(lockUrl)};
const end = Date.now() + 2000;
while (Date.now() < end) await withLockFile(process.argv[1], () => Promise.resolve());`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', locker, '--', lockFile], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    let running = true;
    void exited.then(() => (running = false));
    const seen = { empty: 0, withPid: 0 };
    for (let reads = 0; running && reads < 1_000_000; reads++) {
      const text = await readFile(lockFile, 'utf8').catch(() => undefined);
      if (text === '') seen.empty++;
      else if (text !== undefined) seen.withPid++;
    }
    expect(await exited).toBe(0);
    expect(seen.withPid).toBeGreaterThan(0);
    expect(seen.empty).toBe(0);
  });

  it('waits for a live holder and gives up with a retryable error naming it', async () => {
    // A live process that is not us holds the lock.
    const holder = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await writeFile(join(repo.dir, '.git', 'tandem-worktrees.lock'), `${holder.pid}\n`);
      const error = await withWorktreeLock(repo.dir, () => Promise.resolve('ran'), { waitMs: 300 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WorkspaceError);
      expect((error as WorkspaceError).retryable).toBe(true);
      expect((error as WorkspaceError).message).toContain(`locked by process ${holder.pid}`);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('takes over the lock of a process that died, and leaves no lock behind', async () => {
    const dead = spawn('true', [], { stdio: 'ignore' });
    await new Promise((r) => dead.on('exit', r));
    await writeFile(join(repo.dir, '.git', 'tandem-worktrees.lock'), `${dead.pid}\n`);
    const worktree = await ensureWorktree({ repo: repo.dir, taskId: 'T1', baseCommit: 'main', worktreesDir: join(repo.dir, '.tandem', 'worktrees') });
    expect(worktree.branch).toBe('tandem/T1');
    await expect(access(join(repo.dir, '.git', 'tandem-worktrees.lock'))).rejects.toThrow(/ENOENT/);
  });

  it('runs callers within one process one at a time, in call order, and a failing one does not block the next', async () => {
    const order: string[] = [];
    // withLockFile joins its queue at the call (withWorktreeLock first asks git for the common dir).
    const lockFile = join(repo.dir, '.git', 'tandem-test.lock');
    const slow = withLockFile(lockFile, async () => {
      order.push('a-start');
      await new Promise((r) => setTimeout(r, 50));
      order.push('a-end');
      throw new Error('a failed');
    });
    const next = withLockFile(lockFile, () => {
      order.push('b');
      return Promise.resolve('b done');
    });
    await expect(slow).rejects.toThrow('a failed');
    await expect(next).resolves.toBe('b done');
    expect(order).toEqual(['a-start', 'a-end', 'b']);
  });
});
