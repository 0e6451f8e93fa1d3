import { rm } from 'node:fs/promises';
import type { SyncDirectory } from '../platform/fs/directory-sync.js';
import type { ClosedSegments } from './journal-segments.js';

/** How long a failed retirement waits before it is tried again. */
const RETRY_AFTER_MS = 5_000;

interface RetirementOptions {
  readonly dir: string;
  /** Make the records of these segments durable outside the journal; they are deleted afterwards. */
  readonly retire: (segments: readonly string[]) => Promise<void>;
  readonly onRetireError?: ((error: unknown) => void) | undefined;
  /** How long a closed segment waits before it is retired. */
  readonly retireAfterMs: number;
  /** With more closed segments waiting than this, the oldest is retired at once. */
  readonly maxClosed: number;
  readonly syncDirectory: SyncDirectory;
}

/**
 * The closed segments of a journal on their way out. A segment is retired (its records made
 * durable in their own files, then deleted) once it has waited long enough for the kernel to have
 * written those files back by itself, so that their fsyncs cost little; or at once when too many wait.
 */
interface Retirement extends ClosedSegments {
  /** Plans no retirement any more: the journal is closing and retires what is left itself. */
  stop(): void;
  /** Retires every closed segment now; rejects if that failed (the segments stay). */
  retireAll(): Promise<void>;
}

export function createRetirement(options: RetirementOptions): Retirement {
  const { retireAfterMs, maxClosed } = options;
  /** Closed segments not yet retired, oldest first, and the retirement that is running. */
  const waiting: { readonly path: string; readonly closedAt: number }[] = [];
  let retiring: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  /** When the last retirement failed: the next try waits a while, so a lasting failure is no busy loop. */
  let failedAt: number | undefined;
  let forcing = false;
  let stopped = false;

  /** Retires the segments that are due (all of them with `all`), one retirement at a time. */
  const retireDue = (all: boolean): Promise<void> => {
    const run = retiring.then(async () => {
      const now = Date.now();
      const due = waiting.filter((s, i) => all || now - s.closedAt >= retireAfterMs || waiting.length - i > maxClosed);
      if (due.length === 0) return;
      try {
        await options.retire(due.map((s) => s.path));
        for (const segment of due) await rm(segment.path, { force: true });
        await options.syncDirectory(options.dir);
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

  /** Too many closed segments are retired at once (a failure waits for the next rotation or the timer); the others when they are due. */
  const schedule = (): void => {
    if (stopped) return;
    if (waiting.length > maxClosed && !forcing) {
      forcing = true;
      void retireDue(false).finally(() => {
        forcing = false;
        schedule();
      });
      return;
    }
    const first = waiting[0];
    if (timer !== undefined || first === undefined) return;
    timer = setTimeout(
      () => {
        timer = undefined;
        void retireDue(false).then(schedule);
      },
      Math.max(0, first.closedAt + retireAfterMs - Date.now(), failedAt === undefined ? 0 : failedAt + RETRY_AFTER_MS - Date.now()),
    );
    // A store whose process has nothing else to do must not be kept alive by its journal.
    timer.unref();
  };

  return {
    add(path) {
      waiting.push({ path, closedAt: Date.now() });
    },
    schedule,
    stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    },
    retireAll: () => retireDue(true),
  };
}
