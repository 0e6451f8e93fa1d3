import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { WorkspaceError } from '../platform/errors.js';
import { git } from './git.js';

/**
 * Keeps a folder of tandem's (its state dir inside the repository) out of `git status`, through
 * `info/exclude` of the common git dir: unlike .gitignore it is not part of the repository, so the
 * user's tree stays clean and every worktree shares the rule. Adds the line once.
 */
export async function excludeFromRepo(repo: string, relativeDir: string, options: { link?: boolean } = {}): Promise<void> {
  const dir = relativeDir
    .replace(/\\/g, '/')
    .replace(/^(\.\/)+/, '')
    .replace(/\/+$/, '');
  if (dir === '' || dir === '.' || isAbsolute(relativeDir) || dir.split('/').includes('..')) {
    throw new WorkspaceError(`cannot exclude ${JSON.stringify(relativeDir)} from ${repo}: give a folder inside the repository, relative to its root`);
  }
  const commonDir = resolve(repo, (await git(repo, ['rev-parse', '--git-common-dir'])).stdout.trim());
  const excludeFile = join(commonDir, 'info', 'exclude');
  // A symlinked folder is a file to git: only a pattern without the trailing slash matches it.
  const pattern = options.link === true ? `/${dir}` : `/${dir}/`;
  const current = await readFile(excludeFile, 'utf8').catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw new WorkspaceError(`cannot read ${excludeFile}`, { cause: error });
  });
  const lines = current.split(/\r?\n/).map((line) => line.trim());
  if ((options.link === true ? [pattern, dir] : [pattern, `/${dir}`, `${dir}/`, dir]).some((variant) => lines.includes(variant))) return;
  await mkdir(join(commonDir, 'info'), { recursive: true });
  const separator = current === '' || current.endsWith('\n') ? '' : '\n';
  await appendFile(excludeFile, `${separator}${pattern}\n`);
}

/** tandem's default state dir, and the one file under it that belongs to the repository. */
const DEFAULT_STATE_DIR = '.tandem';
const QUALITY_FILE = '.tandem/quality.yaml';

/**
 * Keeps tandem's state out of `git status` and out of every change the gate measures: `.tandem/*`
 * (all but the repository's own `.tandem/quality.yaml`, which stays visible to `git add`) and the
 * configured state dir when it lies inside the repository. Written to `info/exclude`, never to the
 * tracked .gitignore; each line once.
 */
export async function excludeStateDir(repo: string, stateDir?: string): Promise<void> {
  const commonDir = resolve(repo, (await git(repo, ['rev-parse', '--git-common-dir'])).stdout.trim());
  const top = (await git(repo, ['rev-parse', '--show-toplevel'])).stdout.trim();
  const wanted = [`/${DEFAULT_STATE_DIR}/*`, `!/${QUALITY_FILE}`];
  if (stateDir !== undefined) {
    const inside = relative(top, resolve(repo, stateDir)).split(sep).join('/');
    if (inside !== '' && !inside.startsWith('..') && !isAbsolute(inside) && inside !== DEFAULT_STATE_DIR) wanted.push(`/${inside}/`);
  }
  const excludeFile = join(commonDir, 'info', 'exclude');
  const current = await readFile(excludeFile, 'utf8').catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw new WorkspaceError(`cannot read ${excludeFile}`, { cause: error });
  });
  const lines = new Set(current.split(/\r?\n/).map((line) => line.trim()));
  // A broader rule written before (`/.tandem/`) would hide the quality file: narrowed to its contents.
  const kept = current.split(/\r?\n/).filter((line) => !['/.tandem/', '.tandem/', '/.tandem', '.tandem'].includes(line.trim()));
  const missing = wanted.filter((line) => !lines.has(line));
  if (missing.length === 0 && kept.length === current.split(/\r?\n/).length) return;
  await mkdir(join(commonDir, 'info'), { recursive: true });
  const body = kept.join('\n').replace(/\n*$/, '');
  await writeFile(excludeFile, `${body === '' ? '' : `${body}\n`}${missing.map((l) => `${l}\n`).join('')}`);
}
