import { Worker } from 'node:worker_threads';

/**
 * Replaces files with versions from the journal (read the bytes from the segment, write a temp
 * file, rename it over the target) on a worker thread, with
 * synchronous calls. On the event loop every asynchronous fs call costs a thread hand-off and a
 * callback, four of them per file; here a batch of files costs one message each way. ext4 also
 * writes a file's data out when it is renamed over an older one (auto_da_alloc), which blocks only
 * this thread. No fsync: the file store's journal already holds every version durably.
 */
/** Replace `file` (through `temp`) with bytes `[offset, offset + length)` of the journal segment `segment`. */
export interface FileWrite {
  readonly file: string;
  readonly temp: string;
  readonly segment: string;
  readonly offset: number;
  readonly length: number;
}

export interface FileWriter {
  /** Writes the files in order; resolves once all are in place, rejects with the first failure (the rest are not written). */
  write(files: readonly FileWrite[]): Promise<void>;
  /** Stops the thread; writes not done yet fail. */
  close(): Promise<void>;
}

/** The worker's code: CommonJS, so it runs the same under node, tsx and vitest. */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
const write = (temp, data) => fs.writeFileSync(temp, data, { flag: 'wx', mode: 0o644 });
const read = (fd, offset, length) => {
  const buffer = Buffer.allocUnsafe(length);
  for (let done = 0; done < length; ) {
    const n = fs.readSync(fd, buffer, done, length - done, offset + done);
    if (n === 0) throw new Error('the journal segment ended early');
    done += n;
  }
  return buffer;
};
parentPort.on('message', ({ id, files }) => {
  const segments = new Map();
  try {
    for (const { file, temp, segment, offset, length } of files) {
      try {
        let fd = segments.get(segment);
        if (fd === undefined) segments.set(segment, (fd = fs.openSync(segment, 'r')));
        const data = read(fd, offset, length);
        try {
          write(temp, data);
        } catch (error) {
          if (!error || error.code !== 'ENOENT') throw error;
          fs.mkdirSync(path.dirname(temp), { recursive: true });
          write(temp, data);
        }
        fs.renameSync(temp, file);
      } catch (error) {
        try { fs.rmSync(temp, { force: true }); } catch {}
        parentPort.postMessage({ id, error: { message: String((error && error.message) || error), code: error && error.code } });
        return;
      }
    }
    parentPort.postMessage({ id });
  } finally {
    for (const fd of segments.values()) fs.closeSync(fd);
  }
});
`;

interface Reply {
  readonly id: number;
  readonly error?: { readonly message: string; readonly code?: string };
}

export function createFileWriter(): FileWriter {
  let worker: Worker | undefined;
  let sequence = 0;
  const waiting = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();

  const failAll = (error: Error): void => {
    for (const { reject } of waiting.values()) reject(error);
    waiting.clear();
  };

  const start = (): Worker => {
    // No inherited flags: `--input-type=module` or a loader of the parent would change how the code runs.
    const thread = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
    // Writes in flight must not keep a process alive that has nothing else to do: the journal has them.
    thread.unref();
    thread.on('message', (reply: Reply) => {
      const waiter = waiting.get(reply.id);
      waiting.delete(reply.id);
      if (reply.error) {
        const error = Object.assign(new Error(reply.error.message), reply.error.code === undefined ? {} : { code: reply.error.code });
        waiter?.reject(error);
      } else {
        waiter?.resolve();
      }
    });
    thread.on('error', (error) => failAll(error));
    thread.on('exit', (code) => {
      worker = undefined;
      failAll(new Error(`the file writer thread exited (code ${code})`));
    });
    return thread;
  };

  return {
    write(files) {
      const thread = (worker ??= start());
      const id = sequence++;
      return new Promise<void>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        thread.postMessage({ id, files });
      });
    },
    async close() {
      const thread = worker;
      worker = undefined;
      if (thread) await thread.terminate();
      failAll(new Error('the file writer is closed'));
    },
  };
}
