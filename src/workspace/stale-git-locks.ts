import { rm, stat } from 'node:fs/promises';
import { git } from './git.js';

/**
 * Removes the lock files a killed git left behind. git creates `<file>.lock` before it writes a ref,
 * the index or HEAD and renames it into place when done; killed in between (kill -9 of a supervisor
 * in the middle of a commit, a reset or a `worktree add`), the lock stays forever and every later
 * write fails with "File exists". Only for callers holding the tandem lock under which tandem makes
 * every such write (the worktree lock, a worktree's change lock): no live tandem git can own them
 * then. `names` are git paths (`index.lock`, `refs/heads/tandem/x.lock`) of the repository or
 * worktree at `cwd`; returns the files removed.
 */
export async function removeStaleGitLocks(cwd: string, names: readonly string[]): Promise<string[]> {
  const { stdout } = await git(cwd, ['rev-parse', '--path-format=absolute', ...names.flatMap((name) => ['--git-path', name])]);
  const removed: string[] = [];
  for (const file of stdout.split('\n').filter((line) => line !== '')) {
    if ((await stat(file).catch(() => undefined)) === undefined) continue;
    await rm(file, { force: true });
    removed.push(file);
  }
  return removed;
}
