import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GitRepo } from '../helpers/git-repo.js';

/** This project's node_modules: the temp repos link it, so no install is needed in them. */
export const NODE_MODULES = fileURLToPath(new URL('../../node_modules', import.meta.url));
export const NODE_BIN = join(NODE_MODULES, '.bin');

/**
 * Debian's python3, which has the apt-installed pytest, coverage, flake8 and mypy (a pyenv python3
 * earlier on PATH has none of them).
 */
export const DEBIAN_PYTHON = '/usr/bin/python3';

/** Writes `files` (paths relative to `dir`, `/`-separated); `null` deletes the file. */
export async function writeFiles(dir: string, files: Readonly<Record<string, string | null>>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    const file = join(dir, ...path.split('/'));
    if (content === null) {
      await rm(file, { force: true });
      continue;
    }
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, content);
  }
}

/**
 * A task-like worktree on a new branch from the base commit, with this project's node_modules linked
 * in as an installed dependency folder would be. Removed with the repository's temp dir.
 */
export async function taskWorktree(repo: GitRepo, parent: string, name: string, options: { linkNodeModules?: boolean } = {}): Promise<string> {
  const dir = join(parent, name);
  await repo.git('worktree', 'add', '--quiet', '-b', `tandem/${name}`, dir, repo.head);
  if (options.linkNodeModules === true) await symlink(NODE_MODULES, join(dir, 'node_modules'), 'dir');
  return dir;
}
