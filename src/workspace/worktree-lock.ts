import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { tryAcquireLockFile } from '../platform/fs/dir-lock.js';
import { WorkspaceError } from '../platform/errors.js';
import { git } from './git.js';

/**
 * git keeps the worktree list as loose files under `.git/worktrees/<name>/`, written one after the
 * other and without a lock: a `git worktree add` running while another adds, lists or prunes reads a
 * half-written entry ("failed to read .git/worktrees/X/commondir") or has its fresh entry pruned
 * ("could not open .git/worktrees/X/gitdir"). Measured here with two processes adding 30 worktrees
 * each: one or two failures per run. So every change to a repository's worktree list goes through
 * this lock: a promise chain within the process, and a lock file in the common git directory
 * (shared by all of the repository's worktrees) across processes.
 */
const LOCK_FILE = 'tandem-worktrees.lock';
const DEFAULT_WAIT_MS = 120_000;

const chains = new Map<string, Promise<unknown>>();

export interface WorktreeLockOptions {
  /** How long to wait for another process's hold before giving up with a retryable error. */
  readonly waitMs?: number;
}

export async function withWorktreeLock<T>(repo: string, fn: () => Promise<T>, options: WorktreeLockOptions = {}): Promise<T> {
  const commonDir = resolve(repo, (await git(repo, ['rev-parse', '--git-common-dir'])).stdout.trim());
  return withLockFile(join(commonDir, LOCK_FILE), fn, options);
}

/**
 * Runs `fn` holding the lock file `path`: one caller at a time within this process (a promise
 * chain), and across processes (exclusive create, a dead holder's lock taken over).
 */
export async function withLockFile<T>(path: string, fn: () => Promise<T>, options: WorktreeLockOptions = {}): Promise<T> {
  const previous = chains.get(path) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(() => holdingFile(path, fn, options.waitMs ?? DEFAULT_WAIT_MS));
  const tail = run.catch(() => undefined);
  chains.set(path, tail);
  try {
    return await run;
  } finally {
    // The last in the chain tidies up, so the map does not grow with every repository ever seen.
    if (chains.get(path) === tail) chains.delete(path);
  }
}

async function holdingFile<T>(path: string, fn: () => Promise<T>, waitMs: number): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
    const claim = await tryAcquireLockFile(path);
    if (!('heldBy' in claim)) {
      try {
        return await fn();
      } finally {
        await claim.release();
      }
    }
    if (Date.now() >= deadline) {
      throw new WorkspaceError(`${path} stayed locked by process ${claim.heldBy} for ${waitMs} ms`, {
        retryable: true,
      });
    }
    await sleep(wait * (0.5 + Math.random()));
  }
}
