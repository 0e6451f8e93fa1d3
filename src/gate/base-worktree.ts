import { mkdir, mkdtemp, realpath, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { git } from '../workspace/git.js';
import { withWorktreeLock } from '../workspace/worktree-lock.js';

export interface BaseWorktreeInput {
  /** Any worktree of the repository (the task's). */
  readonly cwd: string;
  readonly commit: string;
  /** Untracked folders of `cwd` (installed dependencies) linked into the base's worktree. */
  readonly links: readonly string[];
  /** Where the temporary worktree goes; default the system temp dir. */
  readonly scratchDir?: string | undefined;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Runs `fn` in a temporary detached worktree of the base commit and removes it afterwards, so the
 * base is measured with its own sources and configuration but the task's installed dependencies.
 */
export async function withBaseWorktree<T>(input: BaseWorktreeInput, fn: (dir: string) => Promise<T>): Promise<T> {
  const scratch = input.scratchDir ?? tmpdir();
  await mkdir(scratch, { recursive: true });
  const parent = await realpath(await mkdtemp(join(scratch, '.tandem-base-')));
  const dir = join(parent, 'tree');
  const options = input.signal === undefined ? {} : { signal: input.signal };
  try {
    // git's worktree list has no lock of its own; tandem's keeps concurrent adds and prunes apart.
    await withWorktreeLock(input.cwd, () => git(input.cwd, ['worktree', 'add', '--detach', '--quiet', dir, input.commit], options));
    for (const name of input.links) {
      const source = join(input.cwd, name);
      const target = join(dir, name);
      const info = await stat(source).catch(() => undefined);
      if (!info?.isDirectory() || (await stat(target).catch(() => undefined)) !== undefined) continue;
      await symlink(await realpath(source), target, 'dir');
    }
    return await fn(dir);
  } finally {
    await withWorktreeLock(input.cwd, async () => {
      await git(input.cwd, ['worktree', 'remove', '--force', dir], { allowFailure: true });
      await rm(parent, { recursive: true, force: true });
      await git(input.cwd, ['worktree', 'prune'], { allowFailure: true });
    });
  }
}
