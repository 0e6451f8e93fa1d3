import { close as closeFd, fsync, open as openFd, rename, writeFile as writeFileCb } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { StoreError, errorMessage } from '../platform/errors.js';
import { fsyncDirectory, isErrno, type DirectorySyncer } from '../platform/fs/directory-sync.js';
import { tempFileFor } from './key-files.js';

/**
 * Writing the store's files so that they survive a crash: a file is only ever replaced by renaming
 * a complete, fsynced temp file over it, and a new name (a file's, a folder's) is durable only once
 * the folder holding it is fsynced too.
 */

/** Files and folders fsynced at once when a journal segment is retired or replayed. */
export const SYNC_PARALLEL = 4;

const renameAsync = promisify(rename);
const openAsync = promisify(openFd);
const fsyncAsync = promisify(fsync);
const closeAsync = promisify(closeFd);
const writeFileAsync = promisify(writeFileCb);

/** Writes a new file (no fsync), creating its folder if it does not exist yet. */
async function writeTempFile(temp: string, data: string): Promise<void> {
  try {
    await writeFileAsync(temp, data, { flag: 'wx', mode: 0o644 });
  } catch (error) {
    if (!isErrno(error, 'ENOENT')) throw error;
    await mkdir(dirname(temp), { recursive: true });
    await writeFileAsync(temp, data, { flag: 'wx', mode: 0o644 });
  }
}

/** Makes a file's content durable. */
export async function fsyncFile(file: string): Promise<void> {
  const fd = await openAsync(file, 'r');
  try {
    await fsyncAsync(fd);
  } finally {
    await closeAsync(fd);
  }
}

/** Temp file, fsync, rename: the file holds `data` durably once its folder is fsynced too. */
export async function writeFileSynced(file: string, data: string): Promise<void> {
  const temp = tempFileFor(file);
  try {
    await writeTempFile(temp, data);
    await fsyncFile(temp);
    await renameAsync(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/**
 * Without a journal: temp file, fsync, rename, fsync of the folder (and of any folder it had to
 * create). The syncer lets concurrent writes share one fsync of a folder.
 */
export async function writeFileDurably(file: string, line: string, syncer: DirectorySyncer): Promise<void> {
  const dir = dirname(file);
  const temp = tempFileFor(file);
  try {
    const created = await mkdir(dir, { recursive: true });
    const handle = await open(temp, 'wx', 0o644);
    try {
      await handle.writeFile(line);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await renameAsync(temp, file);
    await Promise.all([dir, ...parentsOfNewFolders(dir, created)].map((folder) => syncer.sync(folder)));
  } catch (error) {
    await rm(temp, { force: true });
    throw new StoreError('unavailable', `cannot write ${file}: ${errorMessage(error)}`, { cause: error });
  }
}

/** Fsyncs each folder holding one of `files`, and every folder above it up to `root`, deepest first. */
export async function fsyncFolders(root: string, files: readonly string[]): Promise<void> {
  await forEachLimit(foldersUpTo(root, files), SYNC_PARALLEL, fsyncDirectory);
}

/** Deepest first, so that a folder is synced after the names in it that are new. */
function foldersUpTo(root: string, files: readonly string[]): string[] {
  const folders = new Set<string>();
  for (const file of files) {
    for (let folder = dirname(file); !folders.has(folder); folder = dirname(folder)) {
      folders.add(folder);
      if (folder === root || folder === dirname(folder)) break;
    }
  }
  return [...folders].sort((a, b) => b.length - a.length);
}

export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * A new folder's name is durable only once its parent is fsynced: these are the parents of every
 * folder from `created` (what `mkdir -p` reported as the first one it made) down to `deepest`.
 */
export function parentsOfNewFolders(deepest: string, created: string | undefined): string[] {
  if (created === undefined) return [];
  const parents: string[] = [];
  for (let folder = deepest; folder !== dirname(folder); folder = dirname(folder)) {
    parents.push(dirname(folder));
    if (folder === created) break;
  }
  return parents;
}
