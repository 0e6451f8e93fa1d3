import { randomBytes } from 'node:crypto';
import { link, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreError, errorMessage } from '../errors.js';
import { isErrno } from './directory-sync.js';

export interface DirLock {
  readonly path: string;
  /** Removes the lock file if it is still ours. */
  release(): Promise<void>;
}

/** Lock files this process holds; a lock naming our own pid but not listed here is a previous life's. */
const heldHere = new Set<string>();
const MAX_ATTEMPTS = 5;

/**
 * Claims `<dir>/.lock` for this process: exclusive create with our pid inside. A lock whose process
 * is gone is taken over; one held by a live process is refused, naming that process.
 */
export async function acquireDirLock(dir: string): Promise<DirLock> {
  const path = join(dir, '.lock');
  const claim = await tryAcquireLockFile(path);
  if ('heldBy' in claim) {
    throw new StoreError(
      'unavailable',
      `${dir} is in use by process ${claim.heldBy} (lock file ${path}); stop that process, or delete the lock file if it is not a tandem process`,
    );
  }
  return claim;
}

/**
 * One try at the lock file `path`: ours (a stale one of a dead process taken over on the way), or
 * the pid of the live process that holds it, for callers that wait rather than give up.
 */
export async function tryAcquireLockFile(path: string): Promise<DirLock | { readonly heldBy: number }> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (await createLockFile(path)) {
      heldHere.add(path);
      return { path, release: () => release(path) };
    }
    const content = await readIfExists(path);
    if (content === undefined) continue;
    const pid = parsePid(content);
    if (pid !== undefined && isHeld(pid, path)) return { heldBy: pid };
    await takeOver(path, content);
  }
  throw new StoreError('unavailable', `could not take the lock file ${path}: other processes kept claiming it`);
}

/**
 * Creates the lock file with our pid already in it, or says it exists. Written aside and hard-linked
 * into place, so no one ever reads it empty: created in place (`wx`) it would be empty until the
 * write, and a process reading it then would take it for torn and take it over, leaving two holders
 * (two supervisors adding worktrees at once).
 */
async function createLockFile(path: string): Promise<boolean> {
  const aside = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.new`;
  try {
    await writeFile(aside, `${process.pid}\n`);
    await link(aside, path);
    return true;
  } catch (error) {
    if (isErrno(error, 'EEXIST')) return false;
    throw new StoreError('unavailable', `cannot create lock file ${path}: ${errorMessage(error)}`, { cause: error });
  } finally {
    await rm(aside, { force: true });
  }
}

/** Whether a process with this pid exists. EPERM means it exists but belongs to another user. */
export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return !isErrno(error, 'ESRCH');
  }
}

function isHeld(pid: number, path: string): boolean {
  // In a container tandem may get the same pid after every restart; its own old lock is stale.
  if (pid === process.pid) return heldHere.has(path);
  return isPidAlive(pid);
}

/**
 * Removing a stale lock with unlink races: two processes both see the dead pid, the first unlinks it
 * and creates its own lock, the second unlinks THAT. Moving it aside first and checking what was
 * moved lets the second notice and put the live lock back.
 */
async function takeOver(path: string, staleContent: string): Promise<void> {
  const aside = `${path}.${process.pid}.stale`;
  try {
    await rename(path, aside);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return;
    throw new StoreError('unavailable', `cannot take over stale lock file ${path}: ${errorMessage(error)}`, { cause: error });
  }
  try {
    const moved = await readIfExists(aside);
    if (moved !== staleContent) {
      try {
        await link(aside, path);
      } catch (error) {
        if (!isErrno(error, 'EEXIST')) throw error;
      }
    }
  } finally {
    await rm(aside, { force: true });
  }
}

async function release(path: string): Promise<void> {
  if (!heldHere.delete(path)) return;
  const content = await readIfExists(path);
  if (content !== undefined && parsePid(content) === process.pid) await rm(path, { force: true });
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return undefined;
    throw new StoreError('unavailable', `cannot read lock file ${path}: ${errorMessage(error)}`, { cause: error });
  }
}

/** A torn or foreign lock file has no pid; it protects nothing and is taken over. */
function parsePid(content: string): number | undefined {
  const text = content.trim();
  if (!/^\d{1,10}$/.test(text)) return undefined;
  const pid = Number(text);
  return pid > 0 ? pid : undefined;
}
