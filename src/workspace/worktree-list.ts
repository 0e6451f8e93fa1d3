import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { git } from './git.js';

/** One entry of `git worktree list --porcelain`. */
export interface WorktreeEntry {
  readonly path: string;
  /** Full ref name (`refs/heads/…`); undefined for a detached HEAD or a bare repository. */
  readonly branch: string | undefined;
  readonly head: string | undefined;
  /** Registered, but its directory is gone. */
  readonly prunable: boolean;
  /** The lock's reason (`''` without one); git itself locks a worktree `initializing` while it adds it. */
  readonly locked: string | undefined;
}

export async function listWorktrees(repo: string): Promise<WorktreeEntry[]> {
  const { stdout } = await git(repo, ['worktree', 'list', '--porcelain']);
  return stdout
    .split(/\n\n+/)
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const lines = block.split('\n');
      const value = (key: string): string | undefined => {
        const line = lines.find((l) => l === key || l.startsWith(`${key} `));
        return line === undefined ? undefined : line.slice(key.length + 1);
      };
      return {
        path: value('worktree') ?? '',
        branch: value('branch'),
        head: value('HEAD'),
        prunable: value('prunable') !== undefined,
        locked: value('locked'),
      };
    });
}

/** Compares paths after resolving symlinks, since git may report either spelling of a temp dir. */
export function samePath(a: string, b: string): boolean {
  return canonicalPath(a) === canonicalPath(b);
}

function canonicalPath(path: string): string {
  try {
    return realpathSync.native(path);
  } catch {
    return resolve(path);
  }
}
