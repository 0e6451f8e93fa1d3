import { close as closeFd, fdatasync, fsync, open as openFd, write } from 'node:fs';
import { rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { SyncDirectory } from '../platform/fs/directory-sync.js';

const openAsync = promisify(openFd);
const writeAsync = promisify(write);
const fdatasyncAsync = promisify(fdatasync);
const fsyncAsync = promisify(fsync);
const closeAsync = promisify(closeFd);

/**
 * The first segment of a journal is this small and each next one twice the size of the one
 * before, up to the segment size: a store that writes little (a test, a short run) zero-fills
 * little, a busy one rotates seldom.
 */
const FIRST_SEGMENT_BYTES = 512 * 1024;
const ZEROS = Buffer.alloc(256 * 1024);

interface Segment {
  readonly number: number;
  readonly fd: number;
  readonly size: number;
}

/** Where the closed segments go: the chain hands each over as it closes it, then asks for its retirement to be planned. */
export interface ClosedSegments {
  add(path: string): void;
  schedule(): void;
}

interface SegmentChainOptions {
  readonly dir: string;
  /** Number of the first segment to write. */
  readonly firstSegment: number;
  /** The largest size a segment grows to (a larger batch gets a segment of its own size). */
  readonly segmentBytes: number;
  /** The file of segment `number`: the journal owns the naming, which its readers parse. */
  readonly pathOf: (number: number) => string;
  readonly closed: ClosedSegments;
  readonly syncDirectory: SyncDirectory;
}

/** The journal's writing end: appends go to the current segment, and a full one gives way to the next. */
interface SegmentChain {
  /** Writes `data` and fdatasyncs it; resolves with the segment it went to and where in it. */
  write(data: Buffer): Promise<{ readonly segment: string; readonly offset: number }>;
  /** Closes the current segment and the prepared one; resolves with the current segment's file. */
  close(): Promise<string>;
}

async function writeAll(fd: number, data: Buffer, position: number): Promise<void> {
  for (let offset = 0; offset < data.length; ) {
    offset += (await writeAsync(fd, data, offset, data.length - offset, position + offset)).bytesWritten;
  }
}

/**
 * Creates a segment of `size` zero bytes, durable (content and name) before anything is written to
 * it. The zeros go out in small pieces, each synced on its own, so that an fdatasync of the journal
 * never queues behind megabytes of them.
 */
async function createSegment(options: SegmentChainOptions, number: number, size: number): Promise<Segment> {
  const fd = await openAsync(options.pathOf(number), 'wx+', 0o644);
  try {
    for (let at = 0; at < size; at += ZEROS.length) {
      await writeAll(fd, ZEROS.subarray(0, Math.min(ZEROS.length, size - at)), at);
      await fdatasyncAsync(fd);
    }
    await fsyncAsync(fd);
    await options.syncDirectory(options.dir);
  } catch (error) {
    await closeAsync(fd).catch(() => undefined);
    throw error;
  }
  return { number, fd, size };
}

/** Creates the first segment and prepares the next. Writes must not overlap: the caller issues one at a time. */
export async function openSegmentChain(options: SegmentChainOptions): Promise<SegmentChain> {
  const { segmentBytes, pathOf } = options;
  let current = await createSegment(options, options.firstSegment, Math.min(FIRST_SEGMENT_BYTES, segmentBytes));
  /** Where the next append goes in the current segment. */
  let used = 0;
  /** The segment after the current one, prepared ahead so that a rotation does not wait for it. */
  let spare: Promise<Segment> | undefined;

  const prepareSpare = (): void => {
    const next = createSegment(options, current.number + 1, Math.min(segmentBytes, current.size * 2));
    // Until a rotation takes it (and sees any failure), an error here is nobody's to report.
    next.catch(() => undefined);
    spare = next;
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
      await rm(pathOf(next.number), { force: true });
      next = await createSegment(options, next.number, bytes);
    }
    const previous = current;
    current = next;
    used = 0;
    options.closed.add(pathOf(previous.number));
    await closeAsync(previous.fd);
    prepareSpare();
    options.closed.schedule();
  };

  prepareSpare();

  return {
    async write(data: Buffer) {
      if (used + data.length > current.size) await rotate(data.length);
      await writeAll(current.fd, data, used);
      await fdatasyncAsync(current.fd);
      const offset = used;
      used += data.length;
      return { segment: pathOf(current.number), offset };
    },

    async close() {
      const prepared = spare;
      spare = undefined;
      await Promise.allSettled([closeAsync(current.fd), prepared?.then((segment) => closeAsync(segment.fd))]);
      return pathOf(current.number);
    },
  };
}
