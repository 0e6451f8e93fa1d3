import { StoreError, errorMessage } from '../platform/errors.js';
import type { JournalPosition } from './file-journal.js';
import { createFileWriter, type FileWrite } from './file-writer.js';
import { tempFileFor } from './key-files.js';
import type { KeyState } from './stored-record.js';

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

/**
 * A version that is in the journal (durable) but not yet in the key's file: where its line is, not
 * the line itself, so that a version waiting for its file costs a few bytes of memory.
 */
interface Pending extends KeyState {
  readonly position: JournalPosition;
}

interface PendingFilesOptions {
  readonly root: string;
  readonly fileOf: (key: string) => string;
  /** A key's file now holds the newest version: no version of it is pending any more. */
  readonly onCaughtUp: (key: string, state: KeyState) => void;
}

/** The locked store's versions on their way from the journal to their files. */
export interface PendingFiles {
  /** The newest version of `key`, while its file does not hold it yet. */
  get(key: string): Pending | undefined;
  keys(): IterableIterator<string>;
  /** `version` is in the journal: its file is replaced after a delay, or with a newer version. */
  add(key: string, version: Pending): void;
  /** Resolves once the file of each key holds at least the given revision (a key written on meanwhile does not hold this up). */
  caughtUp(needed: ReadonlyMap<string, number>): Promise<void>;
  /** Set when a file could not be replaced from the journal: only a reopen (a replay) repairs that. */
  readonly broken: StoreError | undefined;
  /** Every queued file is due now: the store closes. */
  hurry(): void;
  /** Stops the writer thread; files not replaced yet stay behind the journal. */
  close(): Promise<void>;
}

/** Replaces files from the journal on a writer thread (file-writer.ts), oldest first, each key once per delay. */
export function createPendingFiles(options: PendingFilesOptions): PendingFiles {
  const { root, fileOf } = options;
  const writer = createFileWriter();
  /** Versions in the journal whose files are not replaced yet. */
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
  let broken: StoreError | undefined;

  const isBehind = (key: string, revision: number): boolean => pending.has(key) && (fileRevision.get(key) ?? 0) < revision;

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

  /** Replaces pending files whose time has come, oldest first, in batches on the writer thread. */
  const pump = (): void => {
    if (broken) return;
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
            options.onCaughtUp(key, version);
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
        broken ??= new StoreError(
          'unavailable',
          `the file store ${root} stopped: a file could not be replaced with its version from the journal (${errorMessage(error)}); reopen the store to replay the journal`,
          { cause: error },
        );
        notifyReplaced(undefined);
      },
    );
  };

  return {
    get: (key) => pending.get(key),
    keys: () => pending.keys(),
    add(key, version) {
      pending.set(key, version);
      if (!queued.has(key) && !writing.has(key)) queued.set(key, Date.now() + WRITE_DELAY_MS);
      pump();
    },
    caughtUp,
    get broken() {
      return broken;
    },
    hurry() {
      urgent = true;
      if (writeTimer !== undefined) clearTimeout(writeTimer);
      writeTimer = undefined;
      pump();
    },
    close: () => writer.close(),
  };
}
