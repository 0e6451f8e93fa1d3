import type { Dirent } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { StoreError, errorMessage } from '../platform/errors.js';
import { isPidAlive } from '../platform/fs/dir-lock.js';
import { isErrno } from '../platform/fs/directory-sync.js';

/**
 * How keys map onto the store's folder: the tokens of `a.b.c` are folders and a file, `a/b/c.json`.
 * Everything else in the folder is hidden (a leading dot), so that a listing never mistakes it for
 * a key: temp files, the lock and the journal.
 */

/** A key's tokens; none starts with a dot. */
const TOKEN = /^[A-Za-z0-9_-]+$/;
/** `.<name>.json.<pid>.<seq>.tmp`: hidden, and naming the process that writes it. */
const TEMP_FILE = /^\..+\.(\d+)\.\d+\.tmp$/;
/** The journal's folder. */
export const JOURNAL_DIR = '.journal';
let tempSequence = 0;

export function keyFile(root: string, key: string): string {
  return `${join(root, ...key.split('.'))}.json`;
}

export function tempFileFor(file: string): string {
  return join(dirname(file), `.${basename(file)}.${process.pid}.${tempSequence++}.tmp`);
}

/** Adds every key stored under `folder` (whose key is `keyPrefix`). Anything that is not a key is an error, never skipped. */
export async function collectKeys(folder: string, keyPrefix: string, keys: Set<string>): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (error) {
    if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) return;
    throw new StoreError('unavailable', `cannot list ${folder}: ${errorMessage(error)}`, { cause: error });
  }
  for (const entry of entries) {
    const name = entry.name;
    // Hidden files are temp files and the lock; no key token starts with a dot.
    if (name.startsWith('.')) continue;
    if (entry.isDirectory() && TOKEN.test(name)) {
      await collectKeys(join(folder, name), `${keyPrefix}.${name}`, keys);
    } else if (entry.isFile() && name.endsWith('.json') && TOKEN.test(name.slice(0, -'.json'.length))) {
      keys.add(`${keyPrefix}.${name.slice(0, -'.json'.length)}`);
    } else {
      throw new StoreError('corrupt', `${join(folder, name)}: not a store entry (expected <token>.json or a folder of them)`);
    }
  }
}

/**
 * A crash between creating a temp file and renaming it leaves the temp file behind. Those of dead
 * processes are removed; a live process's may be a write in progress. With the lock held, no other
 * writer can be in progress, so all are removed.
 */
export async function removeLeftoverTempFiles(folder: string, all: boolean): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return;
    throw error;
  }
  for (const entry of entries) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) {
      // The journal holds segments, never temp files.
      if (entry.name !== JOURNAL_DIR) await removeLeftoverTempFiles(path, all);
      continue;
    }
    const match = TEMP_FILE.exec(entry.name);
    if (!entry.isFile() || match === null) continue;
    const pid = Number(match[1]);
    if (all || (pid !== process.pid && !isPidAlive(pid))) await rm(path, { force: true });
  }
}
