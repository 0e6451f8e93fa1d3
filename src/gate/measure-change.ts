import { lstat, open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { git } from '../workspace/git.js';
import { ChangeArea, areaOf, type ChangedFile } from './change-size.js';
import { codeDiffers, loadTypeScript, tokenizerFor, type TypeScriptModule } from './code-tokens.js';
import { QUALITY_FILE } from './quality-file.js';

/** tandem's state dir by default: its files (baselines, logs, worktrees) are never part of a change. */
const DEFAULT_STATE_DIR = '.tandem';

export interface MeasureOptions {
  readonly signal?: AbortSignal | undefined;
  /** Folders (relative to the worktree, `/`-separated) that are tandem's state, besides `.tandem`. */
  readonly stateDirs?: readonly string[] | undefined;
}

/** Untracked files bigger than this are counted as one file of unknown (zero) lines. */
const MAX_COUNTED_BYTES = 2 * 1024 * 1024;

/**
 * Lines and files changed in the worktree against the base commit: committed steps, staged and
 * unstaged edits, and new untracked files (which `git diff` alone would miss), ignored files and
 * tandem's state dir left out (its quality file, a real part of the repository, stays in). Each
 * file says whether its executable code changed (see `markCode`).
 */
export async function measureChange(cwd: string, baseCommit: string, options: MeasureOptions = {}): Promise<ChangedFile[]> {
  const gitOptions = options.signal === undefined ? {} : { signal: options.signal };
  const stateDirs = [DEFAULT_STATE_DIR, ...(options.stateDirs ?? [])].map((d) => d.replace(/\/+$/, ''));
  const isState = (path: string): boolean => path !== QUALITY_FILE && stateDirs.some((d) => path === d || path.startsWith(`${d}/`));
  const numstat = await git(cwd, ['diff', '--numstat', '-z', '--no-renames', baseCommit, '--'], gitOptions);
  const files = parseNumstat(numstat.stdout).filter((f) => !isState(f.path));
  const untracked = await git(cwd, ['ls-files', '--others', '--exclude-standard', '-z'], gitOptions);
  for (const path of untracked.stdout.split('\0').filter((p) => p !== '')) {
    if (isState(path) || (await isLinkedFolder(join(cwd, path)))) continue;
    files.push({ path, lines: await countLines(join(cwd, path)) });
  }
  return markCode(cwd, baseCommit, files, gitOptions);
}

/**
 * Whether each file's executable code changed: documentation never, a source file of a known
 * language family when its tokens (comments and layout left out) differ from the base's, anything
 * else (configuration, unknown languages, binaries) always. Once one file changed code the rest
 * are judged by their area alone, since the change is then no longer TRIVIAL anyway.
 */
async function markCode(cwd: string, baseCommit: string, files: ChangedFile[], options: { signal?: AbortSignal }): Promise<ChangedFile[]> {
  let typescript: TypeScriptModule | undefined | null = null;
  let found = false;
  const marked: ChangedFile[] = [];
  for (const file of files) {
    const area = areaOf(file.path);
    if (area === ChangeArea.docs || found) {
      marked.push({ ...file, code: area !== ChangeArea.docs });
      continue;
    }
    if (typescript === null) typescript = await loadTypeScript();
    const tokenizer = tokenizerFor(file.path, typescript);
    let code = true;
    if (tokenizer !== undefined) {
      const before = await git(cwd, ['show', `${baseCommit}:${file.path}`], { ...options, allowFailure: true });
      const after = await readText(join(cwd, file.path));
      code = codeDiffers(tokenizer, before.exitCode === 0 ? before.stdout : undefined, after);
    }
    found ||= code;
    marked.push({ ...file, code });
  }
  return marked;
}

async function readText(path: string): Promise<string | undefined> {
  const handle = await open(path, 'r').catch(() => undefined);
  if (handle === undefined) return undefined;
  try {
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/** `added\tdeleted\tpath\0` records; binary files show `-` for both counts. */
export function parseNumstat(output: string): ChangedFile[] {
  const files: ChangedFile[] = [];
  for (const record of output.split('\0')) {
    const match = /^(\d+|-)\t(\d+|-)\t(.+)$/s.exec(record.replace(/^\n/, ''));
    if (!match) continue;
    const added = match[1] === '-' ? 0 : Number(match[1]);
    const deleted = match[2] === '-' ? 0 : Number(match[2]);
    files.push({ path: match[3] ?? '', lines: added + deleted });
  }
  return files;
}

/** A symlink to a folder (linked dependencies such as node_modules) is tooling, not part of the change. */
async function isLinkedFolder(path: string): Promise<boolean> {
  const link = await lstat(path).catch(() => undefined);
  if (!link?.isSymbolicLink()) return false;
  const target = await stat(path).catch(() => undefined);
  return target?.isDirectory() === true;
}

async function countLines(path: string): Promise<number> {
  const handle = await open(path, 'r').catch(() => undefined);
  if (handle === undefined) return 0;
  try {
    const info = await handle.stat();
    if (!info.isFile() || info.size > MAX_COUNTED_BYTES) return 0;
    const size = info.size;
    const buffer = Buffer.alloc(size);
    await handle.read(buffer, 0, size, 0);
    if (buffer.includes(0)) return 0;
    const text = buffer.toString('utf8');
    if (text === '') return 0;
    return text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  } finally {
    await handle.close();
  }
}
