import { closeSync, openSync, readSync } from 'node:fs';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDirectory, isErrno, type SyncDirectory } from '../platform/fs/directory-sync.js';
import { createRetirement } from './journal-retirement.js';
import { openSegmentChain } from './journal-segments.js';

/**
 * The write-ahead journal of the file store's group commit. Every put appends one line; the lines
 * of all puts that arrive while a flush is running go out together in the next one, with one write
 * and one fdatasync, so 256 concurrent puts share a few fsyncs instead of paying one each.
 *
 * The journal is a folder of numbered segments (`00000001.log`, ...). Each segment is filled with
 * zeros and fsynced before it is used, so an append overwrites blocks the file already has: its
 * fdatasync writes those blocks and flushes the disk cache, without a filesystem journal commit
 * (which would also carry every other file's pending metadata and, on ext4, their data). For the
 * same reason a torn append reads back as a line cut short by zeros, and JSON never holds a zero
 * byte, so the end of a segment's data is its first zero byte.
 *
 * A full segment is closed and the next (prepared in advance) takes over (journal-segments.ts); a
 * closed segment is retired once the store has made its records durable in their own files (an
 * fsync per file, cheap once the kernel has written them back by itself, hence the wait), and then
 * deleted (journal-retirement.ts). This file holds the group commit and the segments' format.
 */
export interface JournalOptions {
  /** The journal's own folder; it must exist and be durable. */
  readonly dir: string;
  /** Number of the first segment to write (above every segment already there). */
  readonly firstSegment: number;
  /** Make the records of these segments durable outside the journal; they are deleted afterwards. */
  readonly retire: (segments: readonly string[]) => Promise<void>;
  /** A retirement failed; the segments stay and are retried with the next one (or replayed on open). */
  readonly onRetireError?: (error: unknown) => void;
  /** A segment's size: once the next batch does not fit, the next segment takes over. */
  readonly segmentBytes?: number;
  /** How long a closed segment waits before it is retired. */
  readonly retireAfterMs?: number;
  /** With more closed segments waiting than this, the oldest is retired at once. */
  readonly maxClosedSegments?: number;
  readonly syncDirectory?: SyncDirectory;
}

/** Where an appended line is: its bytes `[offset, offset + length)` of the segment file. */
export interface JournalPosition {
  readonly segment: string;
  readonly offset: number;
  readonly length: number;
}

export interface Journal {
  /** Resolves once `line` is on disk (written and fdatasynced), with where it is; rejects if that failed. */
  append(line: string): Promise<JournalPosition>;
  /** The error that stopped the journal: every append since fails with it. */
  readonly failure: Error | undefined;
  /** Appends (each a write and an fdatasync) so far. */
  readonly flushes: number;
  /** Waits for pending appends, retires every segment, the current one included, and removes the folder. */
  close(): Promise<void>;
}

/** 8 MiB: about two thousand task transitions, a second or two of 256 busy tasks. */
const DEFAULT_SEGMENT_BYTES = 8 * 1024 * 1024;
/**
 * Linux writes dirty pages back within 30 s (vm.dirty_expire_centisecs) plus one writeback
 * interval (5 s); by then an fsync of those files has little left to do.
 */
const DEFAULT_RETIRE_AFTER_MS = 40_000;
const DEFAULT_MAX_CLOSED_SEGMENTS = 8;

const SEGMENT = /^(\d{8,})\.log$/;

export function segmentName(n: number): string {
  return `${String(n).padStart(8, '0')}.log`;
}

/** The segments in `dir`, oldest first; none when the folder does not exist. */
export async function listSegments(dir: string): Promise<{ readonly path: string; readonly number: number }[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return [];
    throw error;
  }
  return names
    .flatMap((name) => {
      const match = SEGMENT.exec(name);
      return match ? [{ path: join(dir, name), number: Number(match[1]) }] : [];
    })
    .sort((a, b) => a.number - b.number);
}

/**
 * The complete lines of a segment, in order. Its data ends at the first zero byte; a crash can
 * leave the last write torn, and what follows the last newline before that was never
 * acknowledged, so it is left out. (Whether a complete line is a valid record is for the reader
 * to decide: a torn write can also cut a batch between two lines.)
 */
export async function readSegmentLines(path: string): Promise<string[]> {
  const data = await readFile(path);
  const zero = data.indexOf(0);
  const limit = zero < 0 ? data.length : zero;
  const end = limit === 0 ? -1 : data.lastIndexOf(0x0a, limit - 1);
  return end < 0 ? [] : data.toString('utf8', 0, end).split('\n');
}

/** The line at `position` (without its newline), read synchronously: it was just written, the page cache has it. */
export function readLineAt(position: JournalPosition): string {
  const fd = openSync(position.segment, 'r');
  try {
    const buffer = Buffer.allocUnsafe(position.length);
    for (let read = 0; read < position.length; ) {
      const n = readSync(fd, buffer, read, position.length - read, position.offset + read);
      if (n === 0) throw new Error(`${position.segment} ends before ${position.offset + position.length}`);
      read += n;
    }
    return buffer.toString('utf8', 0, position.length - 1);
  } finally {
    closeSync(fd);
  }
}

/** The lines that one flush writes together, and the promise that all their appends share. */
interface Batch {
  readonly lines: string[];
  /** Resolves with the position of each line, in order. */
  readonly promise: Promise<readonly JournalPosition[]>;
  readonly resolve: (positions: readonly JournalPosition[]) => void;
  readonly reject: (error: unknown) => void;
}

function createBatch(): Batch {
  let resolve!: (positions: readonly JournalPosition[]) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<readonly JournalPosition[]>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A batch nobody waits for any more must not become an unhandled rejection.
  promise.catch(() => undefined);
  return { lines: [], promise, resolve, reject };
}

export async function openJournal(options: JournalOptions): Promise<Journal> {
  const { dir } = options;
  const syncDirectory = options.syncDirectory ?? fsyncDirectory;
  const retirement = createRetirement({
    dir,
    retire: options.retire,
    onRetireError: options.onRetireError,
    retireAfterMs: options.retireAfterMs ?? DEFAULT_RETIRE_AFTER_MS,
    maxClosed: options.maxClosedSegments ?? DEFAULT_MAX_CLOSED_SEGMENTS,
    syncDirectory,
  });
  const segments = await openSegmentChain({
    dir,
    firstSegment: options.firstSegment,
    segmentBytes: options.segmentBytes ?? DEFAULT_SEGMENT_BYTES,
    pathOf: (number) => join(dir, segmentName(number)),
    closed: retirement,
    syncDirectory,
  });
  /** The lines appended since the running flush took its batch: the next flush writes them together. */
  let pending: Batch | undefined;
  let flushing: Promise<void> | undefined;
  let failure: Error | undefined;
  let flushes = 0;
  let closed = false;

  const fail = (error: unknown): Error => {
    failure ??= error instanceof Error ? error : new Error(String(error));
    return failure;
  };

  const flush = async (): Promise<void> => {
    for (let batch = pending; batch !== undefined; batch = pending) {
      pending = undefined;
      if (failure) {
        batch.reject(failure);
        continue;
      }
      try {
        const data = Buffer.from(batch.lines.length === 1 ? (batch.lines[0] as string) : batch.lines.join(''), 'utf8');
        const { segment, offset: start } = await segments.write(data);
        const positions: JournalPosition[] = [];
        let offset = start;
        for (const line of batch.lines) {
          const length = Buffer.byteLength(line, 'utf8');
          positions.push({ segment, offset, length });
          offset += length;
        }
        flushes++;
        batch.resolve(positions);
      } catch (error) {
        // After a failed write or fdatasync nothing is known about what reached the disk: stop.
        batch.reject(fail(error));
      }
    }
  };

  /**
   * Starts a flush unless one runs (it takes whatever is pending when it is done with its batch).
   * The flush starts after the current tick's microtasks, so everything appended in this turn of
   * the event loop shares it.
   */
  const kick = (): void => {
    if (flushing) return;
    flushing = new Promise<void>((resolve) => process.nextTick(resolve)).then(flush).finally(() => {
      flushing = undefined;
      if (pending) kick();
    });
  };

  return {
    append(line: string): Promise<JournalPosition> {
      if (failure) return Promise.reject(failure);
      if (closed) return Promise.reject(new Error('the journal is closed'));
      const batch = (pending ??= createBatch());
      const index = batch.lines.push(line) - 1;
      kick();
      return batch.promise.then((positions) => positions[index] as JournalPosition);
    },

    get failure() {
      return failure;
    },

    get flushes() {
      return flushes;
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      retirement.stop();
      while (flushing) await flushing;
      const last = await segments.close();
      if (failure) return;
      retirement.add(last);
      await retirement.retireAll();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Creates the journal folder if needed, durable in its parent. */
export async function ensureJournalDir(dir: string, parent: string, syncDirectory: SyncDirectory = fsyncDirectory): Promise<void> {
  const created = await mkdir(dir, { recursive: true });
  if (created !== undefined) await syncDirectory(parent);
}
