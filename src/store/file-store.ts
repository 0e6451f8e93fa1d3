import type { Dirent } from 'node:fs';
import { close as closeFd, fsync, open as openFd, readFileSync, rename, writeFile as writeFileCb } from 'node:fs';
import { mkdir, open, readFile, readdir, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';
import { StoreError, errorMessage } from '../platform/errors.js';
import { acquireDirLock, isPidAlive, tryAcquireLockFile } from '../platform/fs/dir-lock.js';
import type { DirLock } from '../platform/fs/dir-lock.js';
import { createDirectorySyncer, fsyncDirectory, isErrno } from '../platform/fs/directory-sync.js';
import { ensureJournalDir, listSegments, openJournal, readLineAt, readSegmentLines, type Journal, type JournalOptions, type JournalPosition } from './file-journal.js';
import { createFileWriter, type FileWrite, type FileWriter } from './file-writer.js';
import { assertKey } from './store.js';
import type { PutOptions, Store, StoreEntry } from './store.js';
import { checkExpectedRevision, compareKeys, keyHasPrefix, serializeValue } from './store-values.js';

export interface FileStoreOptions {
  readonly dir: string;
  /**
   * Claim `<dir>/.lock` so that a second process cannot use the same folder. The lock holder is
   * the folder's only writer, which lets it commit through a shared journal (see createFileStore).
   */
  readonly lock?: boolean;
  /** Tuning of the journal of a locked store (tests use small values). */
  readonly journal?: Pick<JournalOptions, 'segmentBytes' | 'retireAfterMs' | 'maxClosedSegments'>;
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

/** What a writer needs to know of a key: its last revision, and whether that is a tombstone. */
interface KeyState {
  readonly revision: number;
  readonly live: boolean;
}

/**
 * A version that is in the journal (durable) but not yet in the key's file: where its line is, not
 * the line itself, so that a version waiting for its file costs a few bytes of memory.
 */
interface Pending extends KeyState {
  readonly position: JournalPosition;
}

const TOKEN = /^[A-Za-z0-9_-]+$/;
/** `.<name>.json.<pid>.<seq>.tmp`: hidden, so a listing never mistakes it for a key. */
const TEMP_FILE = /^\..+\.(\d+)\.\d+\.tmp$/;
/** The journal's folder: hidden, so a listing never mistakes it for keys. */
const JOURNAL_DIR = '.journal';
const READ_BATCH = 64;
/** Revisions a locked store remembers beyond its pending writes: the keys of the tasks in flight, and more. */
const KNOWN_KEYS = 1024;
/** Files handed to the writer thread and not replaced yet, at most: what piles up beyond waits in the queue, coalescing. */
const MAX_WRITES_IN_FLIGHT = 512;
/**
 * How long a new version waits before its file is replaced: versions of a key written meanwhile
 * (a task's record changes with every transition) are replaced once, with the newest, and fewer
 * file writes compete with the journal for the disk and the CPU. Readers through a Store see every
 * version at once (this store from memory, others through the journal); a file itself is at most
 * this much (plus the writes queued before it) behind.
 */
const WRITE_DELAY_MS = 250;
/** Files and folders fsynced at once when a journal segment is retired or replayed. */
const SYNC_PARALLEL = 4;
let tempSequence = 0;

const renameAsync = promisify(rename);
const openAsync = promisify(openFd);
const fsyncAsync = promisify(fsync);
const closeAsync = promisify(closeFd);
const writeFileAsync = promisify(writeFileCb);

/**
 * The embedded-mode Store under `.tandem/`: `<dir>/<key tokens as folders>.json` holding one line of
 * JSON, `{ key, revision, value }`. A file is only ever replaced by renaming a complete temp file
 * over it, so a reader (another process included) sees an old or a new version, never a torn one.
 *
 * How a write becomes durable depends on the lock:
 *
 * - Locked (the runtime, the folder's only writer): the record is appended to a journal
 *   (file-journal.ts) that group-commits: the puts of all concurrent tasks share one write and one
 *   fdatasync, and a put resolves once its record is on disk there. Puts reach the journal in the
 *   order they were issued (with no write of the same key in progress), and a replay keeps a prefix
 *   of it, so a put is never durable without every put issued before it. The key's file is replaced
 *   later (WRITE_DELAY_MS), on a writer thread (file-writer.ts) that copies the line from the
 *   journal; a key written again meanwhile is replaced once, with its newest version. Until then
 *   this store answers from the journal, and so do readers in other processes. A journal segment
 *   is deleted only after the files of its keys are fsynced, which it leaves until the kernel has
 *   written them back by itself, so that costs little. Opening the store replays what is left of
 *   the journal: a crash at any point keeps every acknowledged write, and a file that a crash tore
 *   or left behind is rewritten.
 * - Unlocked (readers beside a running runtime, tools): a write goes to a temp file that is
 *   fsynced, renamed over the target, and made durable by an fsync of the folder (one such fsync
 *   is shared by concurrent writes). Only the lock holder may write while it holds the lock.
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
  const journalDir = join(root, JOURNAL_DIR);
  const fileOf = (key: string): string => `${join(root, ...key.split('.'))}.json`;

  /** Per-key queue tails: writes to one key run one after another, so the revision check holds. */
  const tails = new Map<string, Promise<void>>();
  /** Locked only: revisions of recently used keys, least recently used first. */
  const known = new Map<string, KeyState>();
  /** Locked only: versions in the journal whose files are not replaced yet, and the queue of those keys. */
  const pending = new Map<string, Pending>();
  /** Keys whose file is to be replaced, oldest first, with when that is due. */
  const queued = new Map<string, number>();
  const writing = new Set<string>();
  let writeTimer: NodeJS.Timeout | undefined;
  /** Set by close: every queued file is due now. */
  let urgent = false;
  /** For a pending key whose file was replaced with an older version than the pending one: that version's revision. */
  const fileRevision = new Map<string, number>();
  /** Retirements waiting for keys' files to catch up, by key (each returns true once done); all are called when the store breaks. */
  const replacedWaiters = new Map<string, (() => boolean)[]>();
  let journal: Journal | undefined;
  let writer: FileWriter | undefined;
  /** Set when a file could not be replaced from the journal: only a reopen (a replay) repairs that. */
  let broken: StoreError | undefined;
  let closed = false;

  const isBehind = (key: string, revision: number): boolean => pending.has(key) && (fileRevision.get(key) ?? 0) < revision;

  /** Resolves once the file of each key holds at least the given revision (a key written on meanwhile does not hold this up). */
  const caughtUp = async (needed: ReadonlyMap<string, number>): Promise<void> => {
    const waits: Promise<void>[] = [];
    for (const [key, revision] of needed) {
      if (!isBehind(key, revision)) continue;
      waits.push(
        new Promise<void>((resolveWait, rejectWait) => {
          const waiter = (): boolean => {
            if (broken) rejectWait(broken);
            else if (!isBehind(key, revision)) resolveWait();
            else return false;
            return true;
          };
          const list = replacedWaiters.get(key);
          if (list) list.push(waiter);
          else replacedWaiters.set(key, [waiter]);
        }),
      );
    }
    await Promise.all(waits);
  };

  const notifyReplaced = (key: string | undefined): void => {
    for (const [waitedKey, list] of key === undefined ? [...replacedWaiters] : [[key, replacedWaiters.get(key) ?? []] as const]) {
      const left = list.filter((waiter) => !waiter());
      if (left.length > 0) replacedWaiters.set(waitedKey, left);
      else replacedWaiters.delete(waitedKey);
    }
  };

  const remember = (key: string, state: KeyState): void => {
    known.delete(key);
    known.set(key, state);
    if (known.size > KNOWN_KEYS) known.delete(known.keys().next().value as string);
  };

  const enqueue = (key: string): void => {
    if (!queued.has(key) && !writing.has(key)) queued.set(key, Date.now() + WRITE_DELAY_MS);
    pump();
  };

  /** Replaces pending files whose time has come, oldest first, in batches on the writer thread. */
  const pump = (): void => {
    if (broken || !writer) return;
    const batch: { key: string; version: Pending; write: FileWrite }[] = [];
    while (writing.size < MAX_WRITES_IN_FLIGHT && queued.size > 0) {
      const [key, dueAt] = queued.entries().next().value as [string, number];
      const wait = urgent ? 0 : dueAt - Date.now();
      if (wait > 0) {
        if (writeTimer === undefined) {
          writeTimer = setTimeout(() => {
            writeTimer = undefined;
            pump();
          }, wait);
          // The journal has every version: nothing is lost if the process ends first.
          writeTimer.unref();
        }
        break;
      }
      queued.delete(key);
      const version = pending.get(key);
      if (version === undefined) continue;
      writing.add(key);
      const file = fileOf(key);
      batch.push({ key, version, write: { file, temp: tempFileFor(file), ...version.position } });
    }
    if (batch.length === 0) return;
    writer.write(batch.map((item) => item.write)).then(
      () => {
        for (const { key, version } of batch) {
          writing.delete(key);
          if (pending.get(key) === version) {
            pending.delete(key);
            fileRevision.delete(key);
            remember(key, version);
          } else {
            fileRevision.set(key, version.revision);
            queued.set(key, Date.now() + WRITE_DELAY_MS);
          }
          notifyReplaced(key);
        }
        pump();
      },
      (error: unknown) => {
        for (const { key } of batch) writing.delete(key);
        broken ??= new StoreError('unavailable', `the file store ${root} stopped: a file could not be replaced with its version from the journal (${errorMessage(error)}); reopen the store to replay the journal`, { cause: error });
        notifyReplaced(undefined);
      },
    );
  };

  /** Waits until the files hold at least these revisions; then fsyncs them and their folders. */
  const makeDurable = async (needed: ReadonlyMap<string, number>): Promise<void> => {
    const keys = [...needed.keys()];
    // A put whose line is in these segments may not have queued its file yet: wait for the queue of each key.
    await Promise.all(keys.flatMap((key) => tails.get(key) ?? []));
    await caughtUp(needed);
    await forEachLimit(keys, SYNC_PARALLEL, (key) => fsyncFile(fileOf(key)));
    await forEachLimit(foldersUpTo(root, keys.map(fileOf)), SYNC_PARALLEL, fsyncDirectory);
  };

  try {
    await removeLeftoverTempFiles(root, lock !== undefined);
    if (lock) {
      const firstSegment = await replayJournal(root, journalDir, fileOf);
      await ensureJournalDir(journalDir, root);
      writer = createFileWriter();
      journal = await openJournal({
        ...options.journal,
        dir: journalDir,
        firstSegment,
        retire: async (segments) => {
          const needed = new Map<string, number>();
          for (const segment of segments) {
            for (const line of await readSegmentLines(segment)) {
              const key = keyOfLine(line);
              if (key !== '') needed.set(key, Math.max(needed.get(key) ?? 0, revisionOfLine(line)));
            }
          }
          await makeDurable(needed);
        },
        // The segments stay: the next retirement retries them, or the next open replays them.
        onRetireError: (error) => process.emitWarning(`file store ${root}: could not retire a journal segment: ${errorMessage(error)}`),
      });
    } else {
      await replayUnlocked(root, journalDir, fileOf);
    }
  } catch (error) {
    await lock?.release();
    if (error instanceof StoreError) throw error;
    throw new StoreError('unavailable', `cannot open the file store ${root}: ${errorMessage(error)}`, { cause: error });
  }

  const assertUsable = (key: string): void => {
    assertKey(key);
    if (closed) throw new StoreError('unavailable', `the file store ${root} is closed`);
    if (broken) throw broken;
    const failure = journal?.failure;
    if (failure) throw new StoreError('unavailable', `the file store ${root} stopped: its journal could not be written (${errorMessage(failure)}); reopen it`, { cause: failure });
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

  const stateOfRecord = (record: StoredRecord | undefined): KeyState => ({ revision: record?.revision ?? 0, live: record?.entry !== undefined });

  const readFileRecord = async (key: string): Promise<StoredRecord | undefined> => {
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

  /** The newest version: a pending one, else the file's, else (unlocked) a newer one in a journal a lock holder keeps. */
  const read = async (key: string, view?: ReadonlyMap<string, StoredRecord>): Promise<StoredRecord | undefined> => {
    const version = pending.get(key);
    if (version) return recordOfLine(key, readLineAt(version.position));
    const fromJournal = view?.get(key);
    const fromFile = await readFileRecord(key);
    return fromJournal !== undefined && (fromFile === undefined || fromFile.revision < fromJournal.revision) ? fromJournal : fromFile;
  };

  /** Unlocked: what the journal of the lock holder has that its files may not have yet (undefined when there is no journal). */
  const journalView = async (wanted: (key: string) => boolean): Promise<Map<string, StoredRecord> | undefined> => {
    if (journal) return undefined;
    const segments = await listSegments(journalDir);
    if (segments.length === 0) return undefined;
    // The newest line of each wanted key first (cheaply, from the line's head); only those are parsed.
    const newest = new Map<string, { revision: number; line: string }>();
    for (const segment of segments) {
      let lines: string[];
      try {
        lines = await readSegmentLines(segment.path);
      } catch (error) {
        // Retired while we looked: its versions are in the files, which are read after this.
        if (isErrno(error, 'ENOENT')) continue;
        throw new StoreError('unavailable', `cannot read ${segment.path}: ${errorMessage(error)}`, { cause: error });
      }
      for (const line of lines) {
        const key = keyOfLine(line);
        if (!wanted(key)) continue;
        const revision = revisionOfLine(line);
        const seen = newest.get(key);
        if (seen === undefined || seen.revision < revision) newest.set(key, { revision, line });
      }
    }
    const view = new Map<string, StoredRecord>();
    for (const [key, { line }] of newest) {
      try {
        view.set(key, recordOfLine(key, line));
      } catch {
        // Only a write torn by a crash can fail here, and the lock holder replayed those when it opened: the file has the key.
      }
    }
    return view;
  };

  /**
   * A key's revision. Locked, it is known or read synchronously (a small file, or a missing one, the
   * page cache usually answers), so that a put reaches the journal in the order of the calls: with
   * no write of the same key in progress, a put issued before another is never durable after it.
   */
  const stateOf = (key: string): KeyState | Promise<KeyState> => {
    const cached = pending.get(key) ?? known.get(key);
    if (cached) return cached;
    if (!journal) return readFileRecord(key).then(stateOfRecord);
    const file = fileOf(key);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      if (!isErrno(error, 'ENOENT')) throw new StoreError('unavailable', `cannot read ${file}: ${errorMessage(error)}`, { cause: error });
      const state = { revision: 0, live: false };
      remember(key, state);
      return state;
    }
    const state = stateOfRecord(parseRecord(file, key, text));
    remember(key, state);
    return state;
  };

  /** Checks the expected revision against `current` and commits the next version; the caller holds the key's queue. */
  const writeNext = (key: string, current: KeyState | Promise<KeyState>, options: PutOptions | undefined, body: string | undefined): Promise<number> => {
    const next = (state: KeyState): Promise<number> => {
      checkExpectedRevision(key, state.live ? state.revision : undefined, options);
      // Deleting a missing key writes nothing.
      if (body === undefined && !state.live) return Promise.resolve(state.revision);
      const revision = state.revision + 1;
      const line = body === undefined ? `{"key":"${key}","revision":${revision},"deleted":true}\n` : `{"key":"${key}","revision":${revision},"value":${body}}\n`;
      return commit(key, { revision, live: body !== undefined }, line).then(() => revision);
    };
    return current instanceof Promise ? current.then(next) : next(current);
  };

  /** Unlocked: temp file, fsync, rename, fsync of the folder (and of any folder it had to create). */
  const writeSynced = async (file: string, line: string): Promise<void> => {
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
  };

  /** Makes one new version durable; the caller holds the key's queue. */
  const commit = async (key: string, state: KeyState, line: string): Promise<void> => {
    if (!journal) return writeSynced(fileOf(key), line);
    let position: JournalPosition;
    try {
      position = await journal.append(line);
    } catch (error) {
      throw new StoreError('unavailable', `cannot write ${fileOf(key)}: the journal failed: ${errorMessage(error)}`, { cause: error });
    }
    pending.set(key, { ...state, position });
    enqueue(key);
  };

  const get = async (key: string): Promise<StoreEntry | undefined> => {
    assertUsable(key);
    return (await read(key, await journalView((k) => k === key)))?.entry;
  };

  const put = async (key: string, value: unknown, options?: PutOptions): Promise<number> => {
    assertUsable(key);
    // Serialize now: the caller may change its object while the write waits in the key's queue.
    const json = serializeValue(key, value);
    return serialized(key, () => writeNext(key, stateOf(key), options, json));
  };

  const remove = async (key: string, options?: PutOptions): Promise<void> => {
    assertUsable(key);
    await serialized(key, () => writeNext(key, stateOf(key), options, undefined));
  };

  const list = async (prefix: string): Promise<StoreEntry[]> => {
    assertUsable(prefix);
    const view = await journalView((key) => keyHasPrefix(key, prefix));
    const keys = new Set([prefix]);
    await collectKeys(join(root, ...prefix.split('.')), prefix, keys);
    for (const key of pending.keys()) if (keyHasPrefix(key, prefix)) keys.add(key);
    for (const key of view?.keys() ?? []) keys.add(key);
    const sorted = [...keys].sort(compareKeys);
    const entries: StoreEntry[] = [];
    for (let i = 0; i < sorted.length; i += READ_BATCH) {
      const records = await Promise.all(sorted.slice(i, i + READ_BATCH).map((key) => read(key, view)));
      for (const record of records) if (record?.entry) entries.push(record.entry);
    }
    return entries;
  };

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    try {
      await Promise.all(tails.values());
      urgent = true;
      if (writeTimer !== undefined) clearTimeout(writeTimer);
      writeTimer = undefined;
      pump();
      // Retires the whole journal: a clean close leaves only the files, every one of them durable.
      await journal?.close();
    } catch (error) {
      throw new StoreError('unavailable', `the file store ${root} closed with its journal in place (the next open replays it): ${errorMessage(error)}`, { cause: error });
    } finally {
      await writer?.close();
      await lock?.release();
    }
  };

  return { get, put, delete: remove, list, close };
}

/** A journal line (or a file's text) as the record of `key`; throws StoreError('corrupt') otherwise. */
function recordOfLine(key: string, line: string): StoredRecord {
  return parseRecord(`the journal entry of ${key}`, key, line);
}

function tempFileFor(file: string): string {
  return join(dirname(file), `.${basename(file)}.${process.pid}.${tempSequence++}.tmp`);
}

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
async function fsyncFile(file: string): Promise<void> {
  const fd = await openAsync(file, 'r');
  try {
    await fsyncAsync(fd);
  } finally {
    await closeAsync(fd);
  }
}

/** Temp file, fsync, rename: the file holds `data` durably once its folder is fsynced too. */
async function writeFileSynced(file: string, data: string): Promise<void> {
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

/** Each folder holding one of `files`, and every folder above it up to `root`, deepest first. */
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

async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** The revision of a record line as this module writes it (`{"key":"<key>","revision":<n>,...`); 0 for anything else. */
function revisionOfLine(line: string): number {
  const at = line.indexOf('","revision":');
  return at < 0 ? 0 : Number.parseInt(line.slice(at + '","revision":'.length, at + '","revision":'.length + 16), 10) || 0;
}

/** The key of a record line as this module writes it (`{"key":"<key>",...`); '' for anything else. */
function keyOfLine(line: string): string {
  const start = '{"key":"'.length;
  if (!line.startsWith('{"key":"')) return '';
  const end = line.indexOf('"', start);
  return end < 0 ? '' : line.slice(start, end);
}

/** The revision a key's file holds, or undefined when it is missing or no valid record (a torn write). */
async function revisionOnDisk(file: string, key: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return undefined;
    throw error;
  }
  try {
    return parseRecord(file, key, text).revision;
  } catch {
    return undefined;
  }
}

/**
 * Brings every key named in the journal to its last journaled version, durably, then deletes the
 * segments. Returns the number for the next segment. A file at that revision already is fsynced
 * (a crash may have left it in memory only); one behind it, missing or torn is rewritten.
 */
async function replayJournal(root: string, journalDir: string, fileOf: (key: string) => string): Promise<number> {
  const segments = await listSegments(journalDir);
  const last = segments.at(-1);
  if (last === undefined) return 1;
  const latest = new Map<string, { revision: number; line: string }>();
  for (const segment of segments) {
    for (const line of await readSegmentLines(segment.path)) {
      const key = keyOfLine(line);
      let revision: number;
      try {
        assertKey(key);
        revision = recordOfLine(key, line).revision;
      } catch {
        // A torn write: nothing after it in this segment was ever acknowledged.
        break;
      }
      const seen = latest.get(key);
      if (seen === undefined || seen.revision < revision) latest.set(key, { revision, line: `${line}\n` });
    }
  }
  await forEachLimit([...latest], SYNC_PARALLEL, async ([key, { revision, line }]) => {
    const file = fileOf(key);
    const onDisk = await revisionOnDisk(file, key);
    if (onDisk === undefined || onDisk < revision) await writeFileSynced(file, line);
    else await fsyncFile(file);
  });
  await forEachLimit(foldersUpTo(root, [...latest.keys()].map(fileOf)), SYNC_PARALLEL, fsyncDirectory);
  for (const segment of segments) await rm(segment.path, { force: true });
  await fsyncDirectory(journalDir);
  return last.number + 1;
}

/**
 * An unlocked store writes no journal, but it may find one that a crashed lock holder left. If the
 * lock is free it replays it (holding the lock meanwhile); if a live process holds the lock, that
 * process replayed the journal when it opened the store and keeps it (readers look into it).
 */
async function replayUnlocked(root: string, journalDir: string, fileOf: (key: string) => string): Promise<void> {
  if ((await listSegments(journalDir)).length === 0) return;
  const claim = await tryAcquireLockFile(join(root, '.lock'));
  if ('heldBy' in claim) return;
  try {
    await replayJournal(root, journalDir, fileOf);
    await rm(journalDir, { recursive: true, force: true });
    await fsyncDirectory(root);
  } finally {
    await claim.release();
  }
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
async function collectKeys(folder: string, keyPrefix: string, keys: Set<string>): Promise<void> {
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
