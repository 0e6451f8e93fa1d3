import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { StoreError, errorMessage } from '../platform/errors.js';
import { acquireDirLock } from '../platform/fs/dir-lock.js';
import type { DirLock } from '../platform/fs/dir-lock.js';
import { createDirectorySyncer } from '../platform/fs/directory-sync.js';
import { SYNC_PARALLEL, forEachLimit, fsyncFile, fsyncFolders, parentsOfNewFolders, writeFileDurably } from './durable-files.js';
import { ensureJournalDir, openJournal, readLineAt, type Journal, type JournalOptions, type JournalPosition } from './file-journal.js';
import { journalView, replayJournal, replayUnlocked, revisionsIn } from './journal-replay.js';
import { JOURNAL_DIR, collectKeys, keyFile, removeLeftoverTempFiles } from './key-files.js';
import { createKeyQueues } from './key-queues.js';
import { createPendingFiles, type PendingFiles } from './pending-files.js';
import { assertKey } from './store.js';
import type { PutOptions, Store, StoreEntry } from './store.js';
import { checkExpectedRevision, compareKeys, keyHasPrefix, serializeValue } from './store-values.js';
import { readRecordFile, readStateSync, recordLine, recordOfLine, stateOfRecord, type KeyState, type StoredRecord } from './stored-record.js';

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

const READ_BATCH = 64;
/** Revisions a locked store remembers beyond its pending writes: the keys of the tasks in flight, and more. */
const KNOWN_KEYS = 1024;

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
 *   later (pending-files.ts), on a writer thread (file-writer.ts) that copies the line from the
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
  const fileOf = (key: string): string => keyFile(root, key);

  const queues = createKeyQueues();
  /** Locked only: revisions of recently used keys, least recently used first. */
  const known = new Map<string, KeyState>();
  let journal: Journal | undefined;
  /** Locked only: versions in the journal whose files are not replaced yet. */
  let pending: PendingFiles | undefined;
  let closed = false;

  const remember = (key: string, state: KeyState): void => {
    known.delete(key);
    known.set(key, state);
    if (known.size > KNOWN_KEYS) known.delete(known.keys().next().value as string);
  };

  /** Waits until the files hold at least these revisions; then fsyncs them and their folders. */
  const makeDurable = async (files: PendingFiles, needed: ReadonlyMap<string, number>): Promise<void> => {
    const keys = [...needed.keys()];
    // A put whose line is in these segments may not have queued its file yet: wait for the queue of each key.
    await queues.settled(keys);
    await files.caughtUp(needed);
    await forEachLimit(keys, SYNC_PARALLEL, (key) => fsyncFile(fileOf(key)));
    await fsyncFolders(root, keys.map(fileOf));
  };

  try {
    await removeLeftoverTempFiles(root, lock !== undefined);
    if (lock) {
      const firstSegment = await replayJournal(root, journalDir, fileOf);
      await ensureJournalDir(journalDir, root);
      const files = createPendingFiles({ root, fileOf, onCaughtUp: remember });
      pending = files;
      journal = await openJournal({
        ...options.journal,
        dir: journalDir,
        firstSegment,
        retire: async (segments) => makeDurable(files, await revisionsIn(segments)),
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
    const broken = pending?.broken;
    if (broken) throw broken;
    const failure = journal?.failure;
    if (failure)
      throw new StoreError('unavailable', `the file store ${root} stopped: its journal could not be written (${errorMessage(failure)}); reopen it`, {
        cause: failure,
      });
  };

  /** The newest version: a pending one, else the file's, else (unlocked) a newer one in a journal a lock holder keeps. */
  const read = async (key: string, view?: ReadonlyMap<string, StoredRecord>): Promise<StoredRecord | undefined> => {
    const version = pending?.get(key);
    if (version) return recordOfLine(key, readLineAt(version.position));
    const fromJournal = view?.get(key);
    const fromFile = await readRecordFile(fileOf(key), key);
    return fromJournal !== undefined && (fromFile === undefined || fromFile.revision < fromJournal.revision) ? fromJournal : fromFile;
  };

  /** Unlocked: what the journal of the lock holder has that its files may not have yet (undefined when there is no journal). */
  const viewOfJournal = async (wanted: (key: string) => boolean): Promise<Map<string, StoredRecord> | undefined> =>
    journal ? undefined : journalView(journalDir, wanted);

  /**
   * A key's revision. Locked, it is known or read synchronously (a small file, or a missing one, the
   * page cache usually answers), so that a put reaches the journal in the order of the calls: with
   * no write of the same key in progress, a put issued before another is never durable after it.
   */
  const stateOf = (key: string): KeyState | Promise<KeyState> => {
    const cached = pending?.get(key) ?? known.get(key);
    if (cached) return cached;
    if (!journal) return readRecordFile(fileOf(key), key).then(stateOfRecord);
    const state = readStateSync(fileOf(key), key);
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
      return commit(key, { revision, live: body !== undefined }, recordLine(key, revision, body)).then(() => revision);
    };
    return current instanceof Promise ? current.then(next) : next(current);
  };

  /** Makes one new version durable; the caller holds the key's queue. */
  const commit = async (key: string, state: KeyState, line: string): Promise<void> => {
    if (!journal || !pending) return writeFileDurably(fileOf(key), line, syncer);
    let position: JournalPosition;
    try {
      position = await journal.append(line);
    } catch (error) {
      throw new StoreError('unavailable', `cannot write ${fileOf(key)}: the journal failed: ${errorMessage(error)}`, { cause: error });
    }
    pending.add(key, { ...state, position });
  };

  const get = async (key: string): Promise<StoreEntry | undefined> => {
    assertUsable(key);
    return (await read(key, await viewOfJournal((k) => k === key)))?.entry;
  };

  const put = async (key: string, value: unknown, options?: PutOptions): Promise<number> => {
    assertUsable(key);
    // Serialize now: the caller may change its object while the write waits in the key's queue.
    const json = serializeValue(key, value);
    return queues.run(key, () => writeNext(key, stateOf(key), options, json));
  };

  const remove = async (key: string, options?: PutOptions): Promise<void> => {
    assertUsable(key);
    await queues.run(key, () => writeNext(key, stateOf(key), options, undefined));
  };

  const list = async (prefix: string): Promise<StoreEntry[]> => {
    assertUsable(prefix);
    const view = await viewOfJournal((key) => keyHasPrefix(key, prefix));
    const keys = new Set([prefix]);
    await collectKeys(join(root, ...prefix.split('.')), prefix, keys);
    for (const key of pending?.keys() ?? []) if (keyHasPrefix(key, prefix)) keys.add(key);
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
      await queues.all();
      pending?.hurry();
      // Retires the whole journal: a clean close leaves only the files, every one of them durable.
      await journal?.close();
    } catch (error) {
      throw new StoreError('unavailable', `the file store ${root} closed with its journal in place (the next open replays it): ${errorMessage(error)}`, {
        cause: error,
      });
    } finally {
      await pending?.close();
      await lock?.release();
    }
  };

  return { get, put, delete: remove, list, close };
}
