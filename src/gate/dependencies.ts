import { lstat, realpath, stat, symlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { git } from '../workspace/git.js';
import { excludeFromRepo } from '../workspace/repo-exclude.js';

/**
 * Gives a task worktree the repository's installed dependencies the way the base's worktree gets
 * them: each folder of `names` (node_modules, .venv, …) that the worktree lacks and the main
 * checkout has is linked in, wherever the worktree lives (a worktree outside the repository finds
 * no node_modules by walking up). A link git would see is kept out of `git status` through
 * `info/exclude`, so a step never commits it. Returns one line per folder saying how it was provided.
 */
export async function provideDependencies(worktree: string, names: readonly string[]): Promise<string[]> {
  const main = await mainCheckout(worktree).catch(() => undefined);
  const lines: string[] = [];
  for (const name of names) {
    const target = join(worktree, name);
    const own = await lstat(target).catch(() => undefined);
    if (own !== undefined) {
      if (own.isSymbolicLink()) lines.push(`${name}: linked to ${await realpath(target).catch(() => '(a missing folder)')}`);
      else if (own.isDirectory()) lines.push(`${name}: the worktree's own`);
      continue;
    }
    if (main === undefined || resolve(main) === resolve(worktree)) continue;
    const source = join(main, name);
    if (!(await stat(source).catch(() => undefined))?.isDirectory()) continue;
    await symlink(await realpath(source), target, 'dir');
    const ignored = await git(worktree, ['check-ignore', '-q', '--', name], { allowFailure: true });
    if (ignored.exitCode !== 0) await excludeFromRepo(worktree, name, { link: true }).catch(() => undefined);
    lines.push(`${name}: linked from ${source}`);
  }
  return lines;
}

/** The main working tree of the repository a (linked) worktree belongs to. */
export async function mainCheckout(worktree: string): Promise<string> {
  const common = resolve(worktree, (await git(worktree, ['rev-parse', '--git-common-dir'])).stdout.trim());
  return basename(common) === '.git' ? dirname(common) : worktree;
}
