import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Subscription } from '../bus/bus.js';
import { plannedStates, restingStates, terminalStates, type TaskEvent } from '../model/task-events.js';
import type { Runtime } from '../runtime/runtime-api.js';
import type { TaskRecord } from '../model/task-record.js';
import type { Logger } from '../telemetry/logger.js';
import { SettleTracker, listClaims, removeStaleTemps, scanInbox, watchPaths, type WatchPaths } from './claim-file.js';
import { createClaimProcessor } from './claim-processor.js';
import type { LoadedTask } from '../tasks/load-tasks.js';
import type { ResolvedTask } from '../tasks/resolve-repos.js';
import type { TaskSummaries } from './task-summary.js';
import { createTaskReports } from './task-reports.js';
import { createWatchState, track, trackTask } from './watch-state.js';
import { readEventLog } from './watch-report.js';

/**
 * `tandem watch <dir>` (seed 003, DESIGN §11): task files dropped into a folder are claimed
 * atomically, validated (a bad file goes to rejected/ with an error naming line and field), run,
 * and reported beside it in results/, summaries/ and logs/. Every step is safe to repeat, so a
 * watcher killed at any point and restarted on the same state dir picks up its own claims where
 * they stood: it resumes their tasks instead of submitting them again.
 */

export interface TaskWatcherOptions {
  /** Absolute path of the watched folder. */
  readonly dir: string;
  /** Name of this watcher's claims folder; `ownerIdOf(stateDir)`. */
  readonly owner: string;
  readonly runtime: Pick<Runtime, 'submit' | 'resume' | 'get' | 'onEvent'>;
  /** Finds each task's repository and base; throws InputError naming file, line and field. */
  readonly resolve: (tasks: readonly LoadedTask[]) => Promise<ResolvedTask[]>;
  readonly summaries: TaskSummaries;
  readonly logger: Logger;
  /** How long a file's size and mtime must stay unchanged before it is read. */
  readonly settleMs?: number;
  readonly pollMs?: number;
  /** Claimed files validated and submitted at once. */
  readonly workers?: number;
  readonly now?: () => number;
  /**
   * A claimed file whose processing fails for a reason that is not the file's (git, the store, the
   * disk) is tried again with a growing delay, this many times in all, then moved to rejected/ with
   * the error. Default 5.
   */
  readonly maxClaimTries?: number;
}

export interface TaskWatcher {
  readonly paths: WatchPaths;
  /** Takes up this watcher's unfinished claims, resumes their tasks, then watches the folder. */
  start(): Promise<void>;
  /** Resolves once the folder holds no task file and every task of this watcher rests with its report written. */
  idle(signal?: AbortSignal): Promise<void>;
  /** Reports a task that came from elsewhere (e.g. Telegram) here too; call it before submitting the task. */
  adopt(taskId: string, source: string): void;
  /** Stops claiming; tasks keep their persisted state and claims stay for the next start. */
  stop(): Promise<void>;
  /**
   * Files claimed and rejected since start (rejected includes files given up after repeated internal
   * failures, counted again in `failed`), claims waiting to be tried again, and the tasks this watcher reports.
   */
  stats(): { readonly claimed: number; readonly rejected: number; readonly failed: number; readonly retrying: number; readonly tasks: readonly string[] };
}

/**
 * Events a killed watcher published but never wrote to the task's log (the log is appended after
 * the fact; the record is the truth): the final state and finish, rebuilt from the record.
 */
export function closingEvents(record: TaskRecord, logged: readonly TaskEvent[], now: number): TaskEvent[] {
  const missing: TaskEvent[] = [];
  const lastState = logged.filter((e) => e.type === 'task.state').at(-1);
  if (lastState?.type === 'task.state' && lastState.state !== record.state) {
    missing.push({
      type: 'task.state',
      taskId: record.id,
      at: record.updatedAt,
      state: record.state,
      previous: lastState.state,
      stepId: record.stepId,
      stepIndex: record.stepIndex,
      stepCount: record.stepCount,
      attempt: record.attempt,
      reason: record.state === 'AWAITING_HUMAN_REVIEW' ? record.waiting?.reason : record.failure,
    });
  }
  if (terminalStates.has(record.state) && !logged.some((e) => e.type === 'task.finished')) {
    missing.push({
      type: 'task.finished',
      taskId: record.id,
      at: record.finishedAt ?? record.updatedAt,
      state: record.state,
      branch: record.branch,
      commits: record.commits.map((c) => c.sha),
      cost_usd: record.costUsd,
      duration_ms: (record.finishedAt ?? now) - record.createdAt,
      reason: record.failure,
    });
  }
  return missing;
}

export function createTaskWatcher(options: TaskWatcherOptions): TaskWatcher {
  const { runtime, logger } = options;
  const paths = watchPaths(options.dir, options.owner);
  const pollMs = options.pollMs ?? 250;
  const workers = Math.max(1, options.workers ?? 4);
  const now = options.now ?? Date.now;
  const tracker = new SettleTracker(options.settleMs ?? 500);
  const stopping = new AbortController();
  const state = createWatchState();
  const { tracked, open, inFlight, pending, retrying, counts } = state;
  const ignoredLogged = new Set<string>();
  let inboxEmpty = false;
  let subscription: Subscription | undefined;
  let loop: Promise<void> | undefined;

  const reports = createTaskReports({ paths, runtime, summaries: options.summaries, logger, now, state });
  const claims = createClaimProcessor({
    paths,
    runtime,
    resolve: options.resolve,
    logger,
    now,
    pollMs,
    maxClaimTries: Math.max(1, options.maxClaimTries ?? 5),
    state,
    finalizeRecovered: (taskId) => finalize(taskId, true),
    watchOutcome,
  });

  function onEvent(event: TaskEvent): void {
    if (!tracked.has(event.taskId)) return;
    reports.appendEvent(event);
    if (event.type === 'task.state' && !restingStates.has(event.state)) open.add(event.taskId);
    if (event.type === 'task.state' && plannedStates.has(event.state) && !reports.hasPlan(event.taskId)) reports.capturePlan(event.taskId);
    if (event.type === 'task.finished' || (event.type === 'task.state' && event.state === 'AWAITING_HUMAN_REVIEW')) finalize(event.taskId);
  }

  /**
   * Writes the summary, then the result (whose first line marks it complete), for a resting task.
   * `repairLog` is for tasks found resting after a restart: their last events may have died with
   * the previous process. Live tasks never need it (their events may still be on their way).
   */
  function finalize(taskId: string, repairLog = false): void {
    void reports.serial(taskId, async () => {
      const record = await runtime.get(taskId);
      if (!record || !restingStates.has(record.state)) return;
      const entry = tracked.get(taskId);
      if (repairLog) {
        const logFile = join(paths.logs, `${taskId}.jsonl`);
        const missing = closingEvents(record, await readEventLog(logFile), now());
        if (missing.length > 0) await appendFile(logFile, missing.map((e) => `${JSON.stringify({ ...e, recovered: true })}\n`).join(''));
      }
      await reports.writeReports(record, entry?.source ?? 'unknown');
      // A decision can wake a waiting task up again; the event that says so reopens it.
      const latest = await runtime.get(taskId);
      if (latest && restingStates.has(latest.state)) open.delete(taskId);
      if (entry?.claim && terminalStates.has(record.state)) await reports.completeClaim(entry.claim);
    });
  }

  function watchOutcome(taskId: string, outcome: Promise<unknown>): void {
    void track(
      state,
      outcome.then(
        () => finalize(taskId),
        (error: unknown) => logger.error({ err: error, task: taskId }, 'a task stopped with an internal error'),
      ),
    );
  }

  async function scanOnce(): Promise<void> {
    const scan = await scanInbox(paths.inbox);
    for (const name of scan.ignored) {
      if (ignoredLogged.has(name)) continue;
      ignoredLogged.add(name);
      logger.info({ file: name }, 'ignoring a file that is not a *.task.md or tasks.yaml');
    }
    inboxEmpty = scan.files.size === 0;
    for (const { name, stamp } of tracker.observe(scan.files, now())) {
      if (inFlight.size >= workers) break;
      if (inFlight.has(name)) continue;
      const work = claims
        .takeFile(name, stamp)
        .catch((error: unknown) => logger.error({ err: error, file: name }, 'could not process a task file; it stays where it is'))
        .finally(() => {
          inFlight.delete(name);
          tracker.forget(name);
        });
      inFlight.set(name, work);
    }
  }

  async function pollLoop(): Promise<void> {
    while (!stopping.signal.aborted) {
      try {
        await claims.retryDue();
        await scanOnce();
      } catch (error) {
        logger.error({ err: error, dir: paths.inbox }, 'could not scan the watched folder');
      }
      await sleep(pollMs, undefined, { signal: stopping.signal }).catch(() => undefined);
    }
  }

  return {
    paths,

    async start() {
      const dirs = [paths.claims, paths.rejected, paths.results, paths.summaries, paths.logs, paths.processed];
      for (const dir of dirs) await mkdir(dir, { recursive: true });
      await removeStaleTemps(dirs);
      subscription = runtime.onEvent(onEvent);
      for (const claim of await listClaims(paths)) await claims.processOrRetry(claim, true, 1);
      for (const handle of await runtime.resume()) {
        if (tracked.has(handle.id)) watchOutcome(handle.id, handle.outcome);
        else void handle.outcome.catch(() => undefined);
      }
      loop = pollLoop();
    },

    async idle(signal) {
      for (;;) {
        if (inboxEmpty && tracker.pending === 0 && inFlight.size === 0 && retrying.size === 0 && pending.size === 0 && open.size === 0) return;
        if (stopping.signal.aborted || signal?.aborted) return;
        await sleep(pollMs, undefined, signal ? { signal } : {}).catch(() => undefined);
      }
    },

    stats() {
      return { claimed: counts.claimed, rejected: counts.rejected, failed: counts.failed, retrying: retrying.size, tasks: [...tracked.keys()] };
    },

    adopt(taskId, source) {
      trackTask(state, taskId, { source });
    },

    async stop() {
      stopping.abort();
      await loop;
      await Promise.allSettled([...inFlight.values()]);
      subscription?.unsubscribe();
      // Reports still being written are redone at the next start; do not hang on a slow model.
      const giveUp = new AbortController();
      await Promise.race([Promise.allSettled([...pending]), sleep(5_000, undefined, { signal: giveUp.signal }).catch(() => undefined)]);
      giveUp.abort();
    },
  };
}
