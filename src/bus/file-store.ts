import type { Dirent } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { StoreError, errorMessage } from '../errors.js';
import { acquireDirLock, isPidAlive } from './dir-lock.js';
import type { DirLock } from './dir-lock.js';
import { createDirectorySyncer, isErrno } from './directory-sync.js';
import { assertKey } from './store.js';
import type { PutOptions, Store, StoreEntry } from './store.js';
import { checkExpectedRevision, compareKeys, serializeValue } from './store-values.js';

export interface FileStoreOptions {
  readonly dir: string;
  /** Claim `<dir>/.lock` so that a second process cannot use the same folder. */
  readonly lock?: boolean;
}

/**
 * One file per key. A deleted key keeps a tombstone so that a re-created key never repeats an old
 * revision: a writer holding a revision from before the delete gets a conflict, not a lost update.
 */
const StoredRecordSchema = z.union([
  z.strictObject({ key: z.string(), revision: z.number().int().positive(), value: z.unknown() }),
  z.strictObject({ key: z.string(), revision: z.number().int().positive(), deleted: z.literal(true) }),
]);

interface StoredRecord {
  readonly revision: number;
  /** Undefined for a tombstone. */
  readonly entry: StoreEntry | undefined;
}

const TOKEN = /^[A-Za-z0-9_-]+$/;
/** `.<name>.json.<pid>.<seq>.tmp`: hidden, so a listing never mistakes it for a key. */
const TEMP_FILE = /^\..+\.(\d+)\.\d+\.tmp$/;
const READ_BATCH = 64;
let tempSequence = 0;

/**
 * The embedded-mode Store under `.tandem/`: `<dir>/<key tokens as folders>.json` holding
 * `{ key, revision, value }`. Every write goes to a temp file that is fsynced, renamed over the
 * target, and made durable by an fsync of the folder, so a crash at any point leaves the old or the
 * new version of a key, never a torn file.
 */
export async function createFileStore(options: FileStoreOptions): Promise<Store> {
  const root = resolve(options.dir);
  const syncer = createDirectorySyncer();
  try {
    const created = await mkdir(root, { recursive: true });
    await Promise.all(parentsOfNewFolders(root, created).map((folder) => syncer.sync(folder)));
  } catch (error) {
    throw new StoreError('unavailable', `cannot create store folder ${root}: ${errorMessage(error)}`, { cause: error });
  }
  const lock: DirLock | undefined = options.lock === true ? await acquireDirLock(root) : undefined;
  try {
    await removeLeftoverTempFiles(root, lock !== undefined);
  } catch (error) {
    await lock?.release();
    throw new StoreError('unavailable', `cannot clean up ${root}: ${errorMessage(error)}`, { cause: error });
  }

  /** Per-key queue tails: writes to one key run one after another, so the revision check holds. */
  const tails = new Map<string, Promise<void>>();
  let closed = false;

  const fileOf = (key: string): string => `${join(root, ...key.split('.'))}.json`;

  const assertUsable = (key: string): void => {
    assertKey(key);
    if (closed) throw new StoreError('unavailable', `the file store ${root} is closed`);
  };

  const serialized = <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const result = (tails.get(key) ?? Promise.resolve()).then(fn);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    tails.set(key, tail);
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return result;
  };

  const read = async (key: string): Promise<StoredRecord | undefined> => {
    const file = fileOf(key);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return undefined;
      throw new StoreError('unavailable', `cannot read ${file}: ${errorMessage(error)}`, { cause: error });
    }
    return parseRecord(file, key, text);
  };

  const write = async (key: string, record: object): Promise<void> => {
    const file = fileOf(key);
    const dir = dirname(file);
    const temp = join(dir, `.${basename(file)}.${process.pid}.${tempSequence++}.tmp`);
    try {
      const created = await mkdir(dir, { recursive: true });
      const handle = await open(temp, 'wx', 0o644);
      try {
        await handle.writeFile(`${JSON.stringify(record, null, 2)}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, file);
      await Promise.all([dir, ...parentsOfNewFolders(dir, created)].map((folder) => syncer.sync(folder)));
    } catch (error) {
      await rm(temp, { force: true });
      throw new StoreError('unavailable', `cannot write ${file}: ${errorMessage(error)}`, { cause: error });
    }
  };

  const get = async (key: string): Promise<StoreEntry | undefined> => {
    assertUsable(key);
    return (await read(key))?.entry;
  };

  const put = async (key: string, value: unknown, options?: PutOptions): Promise<number> => {
    assertUsable(key);
    // Copy now: the caller may change its object while the write waits in the key's queue.
    const snapshot = JSON.parse(serializeValue(key, value)) as unknown;
    return serialized(key, async () => {
      const current = await read(key);
      checkExpectedRevision(key, current?.entry?.revision, options);
      const revision = (current?.revision ?? 0) + 1;
      await write(key, { key, revision, value: snapshot });
      return revision;
    });
  };

  const remove = async (key: string, options?: PutOptions): Promise<void> => {
    assertUsable(key);
    return serialized(key, async () => {
      const current = await read(key);
      checkExpectedRevision(key, current?.entry?.revision, options);
      if (current?.entry) await write(key, { key, revision: current.revision + 1, deleted: true });
    });
  };

  const list = async (prefix: string): Promise<StoreEntry[]> => {
    assertUsable(prefix);
    const keys = [prefix];
    await collectKeys(join(root, ...prefix.split('.')), prefix, keys);
    keys.sort(compareKeys);
    const entries: StoreEntry[] = [];
    for (let i = 0; i < keys.length; i += READ_BATCH) {
      const records = await Promise.all(keys.slice(i, i + READ_BATCH).map(read));
      for (const record of records) if (record?.entry) entries.push(record.entry);
    }
    return entries;
  };

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await Promise.all(tails.values());
    await lock?.release();
  };

  return { get, put, delete: remove, list, close };
}

function parseRecord(file: string, key: string, text: string): StoredRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new StoreError('corrupt', `${file}: not valid JSON (${errorMessage(error)}); restore or delete the file`, { cause: error });
  }
  const parsed = StoredRecordSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? '' : `${issue.path.map(String).join('.')}: `;
    throw new StoreError('corrupt', `${file}: not a store record: ${where}${issue?.message ?? 'invalid'}`);
  }
  const record = parsed.data;
  if (record.key !== key) throw new StoreError('corrupt', `${file}: holds key ${JSON.stringify(record.key)}, expected ${JSON.stringify(key)}`);
  if ('deleted' in record) return { revision: record.revision, entry: undefined };
  if (!(raw instanceof Object && 'value' in raw)) throw new StoreError('corrupt', `${file}: value: missing`);
  return { revision: record.revision, entry: { key, value: record.value, revision: record.revision } };
}

/** Adds every key stored under `folder` (whose key is `keyPrefix`). Anything that is not a key is an error, never skipped. */
async function collectKeys(folder: string, keyPrefix: string, keys: string[]): Promise<void> {
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
      keys.push(`${keyPrefix}.${name.slice(0, -'.json'.length)}`);
    } else {
      throw new StoreError('corrupt', `${join(folder, name)}: not a store entry (expected <token>.json or a folder of them)`);
    }
  }
}

/**
 * A new folder's name is durable only once its parent is fsynced: these are the parents of every
 * folder from `created` (what `mkdir -p` reported as the first one it made) down to `deepest`.
 */
function parentsOfNewFolders(deepest: string, created: string | undefined): string[] {
  if (created === undefined) return [];
  const parents: string[] = [];
  for (let folder = deepest; folder !== dirname(folder); folder = dirname(folder)) {
    parents.push(dirname(folder));
    if (folder === created) break;
  }
  return parents;
}

/**
 * A crash between creating a temp file and renaming it leaves the temp file behind. Those of dead
 * processes are removed; a live process's may be a write in progress. With the lock held, no other
 * writer can be in progress, so all are removed.
 */
async function removeLeftoverTempFiles(folder: string, all: boolean): Promise<void> {
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
      await removeLeftoverTempFiles(path, all);
      continue;
    }
    const match = TEMP_FILE.exec(entry.name);
    if (!entry.isFile() || match === null) continue;
    const pid = Number(match[1]);
    if (all || (pid !== process.pid && !isPidAlive(pid))) await rm(path, { force: true });
  }
}
