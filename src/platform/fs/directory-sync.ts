import { open } from 'node:fs/promises';

export type SyncDirectory = (dir: string) => Promise<void>;

export interface DirectorySyncer {
  /** Resolves once an fsync of `dir` that started after this call has completed. */
  sync(dir: string): Promise<void>;
}

interface Batch {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

interface DirState {
  /** Callers waiting for the next fsync, which has not started yet. */
  waiting: Batch | undefined;
  running: boolean;
}

/**
 * Group commit for directory fsyncs. A rename is durable only once its directory is fsynced, and
 * that fsync covers every rename done before it, so callers that arrive in the same tick, or while
 * an fsync is running, share the next one: 256 concurrent writes in one folder cost a few
 * directory fsyncs instead of 256.
 */
export function createDirectorySyncer(syncDirectory: SyncDirectory = fsyncDirectory): DirectorySyncer {
  const states = new Map<string, DirState>();

  const run = async (dir: string, state: DirState): Promise<void> => {
    const batch = state.waiting;
    if (batch === undefined) return;
    state.waiting = undefined;
    state.running = true;
    try {
      await syncDirectory(dir);
      batch.resolve();
    } catch (error) {
      batch.reject(error);
    } finally {
      state.running = false;
      if (state.waiting) schedule(dir, state);
      else states.delete(dir);
    }
  };

  const schedule = (dir: string, state: DirState): void => {
    setImmediate(() => void run(dir, state));
  };

  return {
    sync(dir: string): Promise<void> {
      let state = states.get(dir);
      if (state === undefined) {
        state = { waiting: undefined, running: false };
        states.set(dir, state);
      }
      if (state.waiting === undefined) {
        state.waiting = createBatch();
        if (!state.running) schedule(dir, state);
      }
      return state.waiting.promise;
    },
  };
}

function createBatch(): Batch {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Makes the directory's entries (new names, renames) durable. */
export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (error) {
    // Some platforms and filesystems cannot fsync a directory; there the rename is all we can do.
    if (!isErrno(error, 'EISDIR') && !isErrno(error, 'EINVAL')) throw error;
  } finally {
    await handle.close();
  }
}

export function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}
