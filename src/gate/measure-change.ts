import { lstat, open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { git } from '../workspace/git.js';
import type { ChangedFile } from './change-size.js';

/** Untracked files bigger than this are counted as one file of unknown (zero) lines. */
const MAX_COUNTED_BYTES = 2 * 1024 * 1024;

/**
 * Lines and files changed in the worktree against the base commit: committed steps, staged and
 * unstaged edits, and new untracked files (which `git diff` alone would miss), ignored files left out.
 */
export async function measureChange(cwd: string, baseCommit: string, signal?: AbortSignal): Promise<ChangedFile[]> {
  const options = signal === undefined ? {} : { signal };
  const numstat = await git(cwd, ['diff', '--numstat', '-z', '--no-renames', baseCommit, '--'], options);
  const files = parseNumstat(numstat.stdout);
  const untracked = await git(cwd, ['ls-files', '--others', '--exclude-standard', '-z'], options);
  for (const path of untracked.stdout.split('\0').filter((p) => p !== '')) {
    if (await isLinkedFolder(join(cwd, path))) continue;
    files.push({ path, lines: await countLines(join(cwd, path)) });
  }
  return files;
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
