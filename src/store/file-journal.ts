import { close as closeFd, closeSync, fdatasync, fsync, open as openFd, openSync, readSync, write } from 'node:fs';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fsyncDirectory, isErrno, type SyncDirectory } from '../platform/fs/directory-sync.js';

const openAsync = promisify(openFd);
const writeAsync = promisify(write);
const fdatasyncAsync = promisify(fdatasync);
const fsyncAsync = promisify(fsync);
const closeAsync = promisify(closeFd);

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
 * A full segment is closed and the next (prepared in advance) takes over; a closed segment is
 * retired once the store has made its records durable in their own files (an fsync per file,
 * cheap once the kernel has written them back by itself, hence the wait), and then deleted.
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
export const DEFAULT_SEGMENT_BYTES = 8 * 1024 * 1024;
/**
 * The first segment of a journal is this small and each next one twice the size of the one
 * before, up to the segment size: a store that writes little (a test, a short run) zero-fills
 * little, a busy one rotates seldom.
 */
const FIRST_SEGMENT_BYTES = 512 * 1024;
/**
 * Linux writes dirty pages back within 30 s (vm.dirty_expire_centisecs) plus one writeback
 * interval (5 s); by then an fsync of those files has little left to do.
 */
export const DEFAULT_RETIRE_AFTER_MS = 40_000;
export const DEFAULT_MAX_CLOSED_SEGMENTS = 8;

/** How long a failed retirement waits before it is tried again. */
const RETRY_AFTER_MS = 5_000;
const SEGMENT = /^(\d{8,})\.log$/;
const ZEROS = Buffer.alloc(256 * 1024);

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

async function writeAll(fd: number, data: Buffer, position: number): Promise<void> {
  for (let offset = 0; offset < data.length; ) {
    offset += (await writeAsync(fd, data, offset, data.length - offset, position + offset)).bytesWritten;
  }
}

interface Segment {
  readonly number: number;
  readonly fd: number;
  readonly size: number;
}

/**
 * Creates a segment of `size` zero bytes, durable (content and name) before anything is written to
 * it. The zeros go out in small pieces, each synced on its own, so that an fdatasync of the journal
 * never queues behind megabytes of them.
 */
async function createSegment(dir: string, number: number, size: number, syncDirectory: SyncDirectory): Promise<Segment> {
  const fd = await openAsync(join(dir, segmentName(number)), 'wx+', 0o644);
  try {
    for (let at = 0; at < size; at += ZEROS.length) {
      await writeAll(fd, ZEROS.subarray(0, Math.min(ZEROS.length, size - at)), at);
      await fdatasyncAsync(fd);
    }
    await fsyncAsync(fd);
    await syncDirectory(dir);
  } catch (error) {
    await closeAsync(fd).catch(() => undefined);
    throw error;
  }
  return { number, fd, size };
}

export async function openJournal(options: JournalOptions): Promise<Journal> {
  const { dir } = options;
  const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
  const retireAfterMs = options.retireAfterMs ?? DEFAULT_RETIRE_AFTER_MS;
  const maxClosed = options.maxClosedSegments ?? DEFAULT_MAX_CLOSED_SEGMENTS;
  const syncDirectory = options.syncDirectory ?? fsyncDirectory;

  let current = await createSegment(dir, options.firstSegment, Math.min(FIRST_SEGMENT_BYTES, segmentBytes), syncDirectory);
  /** Where the next append goes in the current segment. */
  let used = 0;
  /** The segment after the current one, prepared ahead so that a rotation does not wait for it. */
  let spare: Promise<Segment> | undefined;
  let pending: Batch | undefined;
  let flushing: Promise<void> | undefined;
  let failure: Error | undefined;
  let flushes = 0;
  let closed = false;

  /** Closed segments not yet retired, oldest first, and the retirement that is running. */
  const waiting: { readonly path: string; readonly closedAt: number }[] = [];
  let retiring: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  /** When the last retirement failed: the next try waits a while, so a lasting failure is no busy loop. */
  let failedAt: number | undefined;

  const fail = (error: unknown): Error => {
    failure ??= error instanceof Error ? error : new Error(String(error));
    return failure;
  };

  const prepareSpare = (): void => {
    const next = createSegment(dir, current.number + 1, Math.min(segmentBytes, current.size * 2), syncDirectory);
    // Until a rotation takes it (and sees any failure), an error here is nobody's to report.
    next.catch(() => undefined);
    spare = next;
  };

  /** Retires the segments that are due (all of them with `all`), one retirement at a time. */
  const retireDue = (all: boolean): Promise<void> => {
    const run = retiring.then(async () => {
      const now = Date.now();
      const due = waiting.filter((s, i) => all || now - s.closedAt >= retireAfterMs || waiting.length - i > maxClosed);
      if (due.length === 0) return;
      try {
        await options.retire(due.map((s) => s.path));
        for (const segment of due) await rm(segment.path, { force: true });
        await syncDirectory(dir);
        waiting.splice(0, due.length);
        failedAt = undefined;
      } catch (error) {
        if (all) throw error;
        failedAt = Date.now();
        options.onRetireError?.(error);
      }
    });
    retiring = run.catch(() => undefined);
    return run;
  };

  let forcing = false;
  /** Too many closed segments are retired at once (a failure waits for the next rotation or the timer); the others when they are due. */
  const scheduleRetirement = (): void => {
    if (closed) return;
    if (waiting.length > maxClosed && !forcing) {
      forcing = true;
      void retireDue(false).finally(() => {
        forcing = false;
        scheduleRetirement();
      });
      return;
    }
    const first = waiting[0];
    if (timer !== undefined || first === undefined) return;
    timer = setTimeout(
      () => {
        timer = undefined;
        void retireDue(false).then(scheduleRetirement);
      },
      Math.max(0, first.closedAt + retireAfterMs - Date.now(), failedAt === undefined ? 0 : failedAt + RETRY_AFTER_MS - Date.now()),
    );
    // A store whose process has nothing else to do must not be kept alive by its journal.
    timer.unref();
  };

  /** Moves on to the next segment, one at least `bytes` long. */
  const rotate = async (bytes: number): Promise<void> => {
    let next: Segment;
    if (!spare) prepareSpare();
    next = await (spare as Promise<Segment>);
    spare = undefined;
    if (bytes > next.size) {
      // A batch larger than a segment gets a segment of its own size in place of the spare.
      await closeAsync(next.fd);
      await rm(join(dir, segmentName(next.number)), { force: true });
      next = await createSegment(dir, next.number, bytes, syncDirectory);
    }
    const previous = current;
    current = next;
    used = 0;
    waiting.push({ path: join(dir, segmentName(previous.number)), closedAt: Date.now() });
    await closeAsync(previous.fd);
    prepareSpare();
    scheduleRetirement();
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
        if (used + data.length > current.size) await rotate(data.length);
        await writeAll(current.fd, data, used);
        await fdatasyncAsync(current.fd);
        const segment = join(dir, segmentName(current.number));
        const positions: JournalPosition[] = [];
        let offset = used;
        for (const line of batch.lines) {
          const length = Buffer.byteLength(line, 'utf8');
          positions.push({ segment, offset, length });
          offset += length;
        }
        used += data.length;
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
    flushing = new Promise<void>((resolve) => process.nextTick(resolve))
      .then(flush)
      .finally(() => {
        flushing = undefined;
        if (pending) kick();
      });
  };

  prepareSpare();

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
      if (timer !== undefined) clearTimeout(timer);
      while (flushing) await flushing;
      const prepared = spare;
      spare = undefined;
      await Promise.allSettled([closeAsync(current.fd), prepared?.then((segment) => closeAsync(segment.fd))]);
      if (failure) return;
      waiting.push({ path: join(dir, segmentName(current.number)), closedAt: Date.now() });
      await retireDue(true);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Creates the journal folder if needed, durable in its parent. */
export async function ensureJournalDir(dir: string, parent: string, syncDirectory: SyncDirectory = fsyncDirectory): Promise<void> {
  const created = await mkdir(dir, { recursive: true });
  if (created !== undefined) await syncDirectory(parent);
}
