import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { WorkspaceError } from '../platform/errors.js';
import { git } from './git.js';

/**
 * Keeps a folder of tandem's (its state dir inside the repository) out of `git status`, through
 * `info/exclude` of the common git dir: unlike .gitignore it is not part of the repository, so the
 * user's tree stays clean and every worktree shares the rule. Adds the line once.
 */
export async function excludeFromRepo(repo: string, relativeDir: string): Promise<void> {
  const dir = relativeDir.replace(/\\/g, '/').replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  if (dir === '' || dir === '.' || isAbsolute(relativeDir) || dir.split('/').includes('..')) {
    throw new WorkspaceError(`cannot exclude ${JSON.stringify(relativeDir)} from ${repo}: give a folder inside the repository, relative to its root`);
  }
  const commonDir = resolve(repo, (await git(repo, ['rev-parse', '--git-common-dir'])).stdout.trim());
  const excludeFile = join(commonDir, 'info', 'exclude');
  const pattern = `/${dir}/`;
  const current = await readFile(excludeFile, 'utf8').catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw new WorkspaceError(`cannot read ${excludeFile}`, { cause: error });
  });
  const lines = current.split(/\r?\n/).map((line) => line.trim());
  if ([pattern, `/${dir}`, `${dir}/`, dir].some((variant) => lines.includes(variant))) return;
  await mkdir(join(commonDir, 'info'), { recursive: true });
  const separator = current === '' || current.endsWith('\n') ? '' : '\n';
  await appendFile(excludeFile, `${separator}${pattern}\n`);
}
