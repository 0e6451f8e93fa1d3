import { appendFile, mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { Subscription } from '../bus/bus.js';
import { plannedStates, restingStates, terminalStates, type TaskEvent } from '../model/task-events.js';
import { InputError, formatIssue, type InputIssue } from '../platform/errors.js';
import type { Runtime } from '../runtime/runtime-api.js';
import type { TaskRecord } from '../model/task-record.js';
import type { Logger } from '../telemetry/logger.js';
import {
  SettleTracker,
  claimFile,
  intentPath,
  linkUnique,
  listClaims,
  removeStaleTemps,
  scanInbox,
  watchPaths,
  writeAtomic,
  type ClaimedFile,
  type FileStamp,
  type WatchPaths,
} from './claim-file.js';
import { loadTaskFiles, type LoadedTask } from '../tasks/load-tasks.js';
import type { ResolvedTask } from '../tasks/resolve-repos.js';
import { PlanSchema, type Plan } from '../model/role-outputs.js';
import { planOf, type TaskSummaries } from './task-summary.js';
import { branchFacts, readEventLog, renderResult, resultMarker } from './watch-report.js';

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


const IntentSchema = z.object({ name: z.string(), ids: z.array(z.string()), at: z.number() });

interface Tracked {
  readonly source: string;
  readonly claim?: ClaimedFile | undefined;
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
  const settleMs = options.settleMs ?? 500;
  const pollMs = options.pollMs ?? 250;
  const workers = Math.max(1, options.workers ?? 4);
  const now = options.now ?? Date.now;
  const tracker = new SettleTracker(settleMs);
  const stopping = new AbortController();

  const tracked = new Map<string, Tracked>();
  /** Claims and the ids of their tasks, until every task is finished and the file moves to processed/. */
  const claimIds = new Map<string, { claim: ClaimedFile; ids: readonly string[] }>();
  /** Tracked tasks that do not rest yet, or rest without their report written. */
  const open = new Set<string>();
  /** Ids being submitted by a worker right now, so two files with one id cannot both pass the check. */
  const reserved = new Set<string>();
  const inFlight = new Map<string, Promise<void>>();
  const pending = new Set<Promise<unknown>>();
  const chains = new Map<string, Promise<void>>();
  const ignoredLogged = new Set<string>();
  /** Approved plans, kept because a finished record no longer carries its machine snapshot. */
  const plans = new Map<string, Plan>();
  const planFile = (taskId: string): string => join(paths.logs, `${taskId}.plan.json`);
  let inboxEmpty = false;
  let claimedCount = 0;
  let rejectedCount = 0;
  let failedCount = 0;
  const maxClaimTries = Math.max(1, options.maxClaimTries ?? 5);
  /** Claims whose processing failed for an internal reason, by claim path, until retried or given up. */
  const retrying = new Map<string, { claim: ClaimedFile; tries: number; nextAt: number; error: string }>();
  let subscription: Subscription | undefined;
  let loop: Promise<void> | undefined;

  function track<T>(promise: Promise<T>): Promise<T> {
    pending.add(promise);
    void promise.finally(() => pending.delete(promise)).catch(() => undefined);
    return promise;
  }

  /** Runs `work` after everything queued for the same task, so log lines and reports never interleave. */
  function serial(taskId: string, work: () => Promise<void>): Promise<void> {
    const previous = chains.get(taskId) ?? Promise.resolve();
    const next = previous.then(work).catch((error: unknown) => logger.error({ err: error, task: taskId }, 'could not write the task\'s files in the watched folder'));
    chains.set(taskId, next);
    void next.then(() => {
      if (chains.get(taskId) === next) chains.delete(taskId);
    });
    return track(next);
  }

  function onEvent(event: TaskEvent): void {
    if (!tracked.has(event.taskId)) return;
    void serial(event.taskId, () => appendFile(join(paths.logs, `${event.taskId}.jsonl`), `${JSON.stringify(event)}\n`));
    if (event.type === 'task.state' && !restingStates.has(event.state)) open.add(event.taskId);
    if (event.type === 'task.state' && plannedStates.has(event.state) && !plans.has(event.taskId)) capturePlan(event.taskId);
    if (event.type === 'task.finished' || (event.type === 'task.state' && event.state === 'AWAITING_HUMAN_REVIEW')) finalize(event.taskId);
  }

  /** Read at once, not behind the log writes: a fast task may finish (and drop its snapshot) any moment. */
  function capturePlan(taskId: string): void {
    void track(
      runtime.get(taskId).then((record) => {
        const plan = record ? planOf(record) : undefined;
        if (!plan || plans.has(taskId)) return;
        plans.set(taskId, plan);
        void serial(taskId, () => writeAtomic(planFile(taskId), `${JSON.stringify(plan, null, 2)}\n`));
      }),
    );
  }

  async function knownPlan(record: TaskRecord): Promise<Plan | undefined> {
    const known = planOf(record) ?? plans.get(record.id);
    if (known) return known;
    try {
      const parsed = PlanSchema.safeParse(JSON.parse(await readFile(planFile(record.id), 'utf8')));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  function trackTask(taskId: string, entry: Tracked): void {
    tracked.set(taskId, entry);
    open.add(taskId);
  }

  async function reportIsCurrent(record: TaskRecord): Promise<boolean> {
    const first = await readFile(join(paths.results, `${record.id}.md`), 'utf8')
      .then((text) => text.split('\n', 1)[0])
      .catch(() => undefined);
    if (first !== resultMarker(record)) return false;
    return stat(join(paths.summaries, `${record.id}.md`)).then(
      () => true,
      () => false,
    );
  }

  /**
   * Writes the summary, then the result (whose first line marks it complete), for a resting task.
   * `repairLog` is for tasks found resting after a restart: their last events may have died with
   * the previous process. Live tasks never need it (their events may still be on their way).
   */
  function finalize(taskId: string, repairLog = false): void {
    void serial(taskId, async () => {
      const record = await runtime.get(taskId);
      if (!record || !restingStates.has(record.state)) return;
      const entry = tracked.get(taskId);
      const logFile = join(paths.logs, `${taskId}.jsonl`);
      if (repairLog) {
        const missing = closingEvents(record, await readEventLog(logFile), now());
        if (missing.length > 0) await appendFile(logFile, missing.map((e) => `${JSON.stringify({ ...e, recovered: true })}\n`).join(''));
      }
      if (!(await reportIsCurrent(record))) {
        const plan = await knownPlan(record);
        const summary = await options.summaries.summarize(record, plan);
        await writeAtomic(join(paths.summaries, `${taskId}.md`), summary);
        const [events, git] = await Promise.all([
          readEventLog(logFile),
          branchFacts(record).catch((error: unknown) => {
            logger.warn({ err: error, task: taskId }, 'could not read the task branch for its report');
            return undefined;
          }),
        ]);
        await writeAtomic(join(paths.results, `${taskId}.md`), renderResult({ record, source: entry?.source ?? 'unknown', events, git, plan, now: now() }));
        logger.info({ task: taskId, state: record.state }, 'wrote the task\'s result and summary');
      }
      // A decision can wake a waiting task up again; the event that says so reopens it.
      const latest = await runtime.get(taskId);
      if (latest && restingStates.has(latest.state)) open.delete(taskId);
      if (entry?.claim && terminalStates.has(record.state)) await completeClaim(entry.claim);
    });
  }

  /** Once every task of a file is finished and reported, the file moves to processed/ and its claim ends. */
  async function completeClaim(claim: ClaimedFile): Promise<void> {
    const entry = claimIds.get(claim.path);
    if (!entry) return;
    for (const id of entry.ids) {
      const record = await runtime.get(id);
      // The task's own report may still be on its way; its finalize comes back here.
      if (!record || !terminalStates.has(record.state) || !(await reportIsCurrent(record))) return;
    }
    if (!claimIds.delete(claim.path)) return;
    const target = await linkUnique(claim.path, paths.processed, claim.name);
    await rm(claim.path, { force: true });
    await rm(intentPath(claim), { force: true });
    logger.info({ file: claim.name, processed: target }, 'every task of the file finished');
  }

  async function reject(claim: ClaimedFile, issues: readonly InputIssue[], headline?: string): Promise<void> {
    const inboxPath = join(paths.inbox, claim.name);
    const named = issues.map((issue) => ({ ...issue, file: issue.file === claim.path || issue.file === inboxPath ? claim.name : issue.file }));
    const target = await linkUnique(claim.path, paths.rejected, claim.name);
    const text = [headline ?? `tandem did not accept ${claim.name}; fix it and drop it into the folder again.`, '', ...named.map((issue) => formatIssue(issue)), ''].join('\n');
    await writeAtomic(`${target}.error.txt`, text);
    await rm(claim.path, { force: true });
    await rm(intentPath(claim), { force: true });
    rejectedCount++;
    logger.warn({ file: claim.name, rejected: target, issues: named.length }, 'rejected a task file');
  }

  async function readIntent(claim: ClaimedFile): Promise<readonly string[]> {
    const text = await readFile(intentPath(claim), 'utf8').catch(() => undefined);
    if (text === undefined) return [];
    try {
      const parsed = IntentSchema.safeParse(JSON.parse(text));
      return parsed.success ? parsed.data.ids : [];
    } catch {
      // A torn intent was written before any task was submitted.
      return [];
    }
  }

  /** Validates a claimed file and submits its tasks; with `recovering`, tasks it already submitted are taken up instead. */
  async function processClaim(claim: ClaimedFile, recovering: boolean, stamp?: FileStamp): Promise<void> {
    let loaded: LoadedTask[];
    try {
      loaded = await loadTaskFiles([claim.path]);
    } catch (error) {
      if (stamp && (await putBackIfChanged(claim, stamp))) return;
      if (error instanceof InputError) return reject(claim, error.issues);
      throw error;
    }
    // A writer that kept the file open may have gone on writing after the claim: what was read
    // counts only if the file is still the one that settled.
    if (stamp && (await putBackIfChanged(claim, stamp))) return;
    const inboxPath = join(paths.inbox, claim.name);
    // The file is reported, and a relative `repo:` resolved, as where the person put it.
    const tasks = loaded.map((t) => ({ ...t, file: inboxPath, dir: paths.inbox, spec: { ...t.spec, source: { file: inboxPath, ...(t.spec.source?.line === undefined ? {} : { line: t.spec.source.line }) } } }));
    const ours = new Set(recovering ? await readIntent(claim) : []);
    const issues: InputIssue[] = [];
    const existing: string[] = [];
    for (const task of tasks) {
      const id = task.spec.id;
      const record = await runtime.get(id);
      if (record && ours.has(id)) existing.push(id);
      else if (record || reserved.has(id) || tracked.has(id)) {
        issues.push({ file: claim.name, line: task.spec.source.line, field: 'id', message: `a task with id ${id} already exists${record ? ` (state ${record.state})` : ''}; give this one another id` });
      }
    }
    if (issues.length > 0) return reject(claim, issues);
    const fresh = tasks.filter((t) => !existing.includes(t.spec.id));
    const ids = tasks.map((t) => t.spec.id);
    for (const id of ids) reserved.add(id);
    try {
      let resolved: ResolvedTask[] = [];
      try {
        resolved = fresh.length > 0 ? await options.resolve(fresh) : [];
      } catch (error) {
        if (!(error instanceof InputError)) throw error;
        if (existing.length === 0) return reject(claim, error.issues);
        logger.error({ file: claim.name, error: error.message }, 'some tasks of a recovered file no longer validate; only the submitted ones continue');
      }
      // Written before the first submission: after a crash, these ids are known to be this file's.
      if (fresh.length > 0) await writeAtomic(intentPath(claim), JSON.stringify({ name: claim.name, ids, at: now() }));
      claimIds.set(claim.path, { claim, ids: [...existing, ...resolved.map((r) => r.spec.id)] });
      for (const id of [...existing, ...resolved.map((r) => r.spec.id)]) trackTask(id, { source: claim.name, claim });
      for (const task of resolved) {
        const handle = await runtime.submit(task);
        watchOutcome(handle.id, handle.outcome);
      }
      logger.info({ file: claim.name, tasks: ids, recovered: existing.length }, recovering ? 'took up a claimed file again' : 'claimed a task file');
      for (const id of existing) {
        const record = await runtime.get(id);
        if (record && restingStates.has(record.state)) finalize(id, true);
      }
    } finally {
      for (const id of ids) reserved.delete(id);
    }
  }

  function watchOutcome(taskId: string, outcome: Promise<unknown>): void {
    void track(
      outcome.then(
        () => finalize(taskId),
        (error: unknown) => logger.error({ err: error, task: taskId }, 'a task stopped with an internal error'),
      ),
    );
  }

  /**
   * Processes a claim; a failure that is not the file's (InputError is handled inside) keeps the claim
   * for another try after a growing delay, and after `maxClaimTries` moves it to rejected/ with the error.
   */
  async function processOrRetry(claim: ClaimedFile, recovering: boolean, tries: number, stamp?: FileStamp): Promise<void> {
    try {
      await processClaim(claim, recovering, stamp);
      retrying.delete(claim.path);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (tries >= maxClaimTries) {
        retrying.delete(claim.path);
        // Its tasks may be partly submitted; those keep running and report as usual.
        if (claimIds.has(claim.path)) {
          logger.error({ err: error, file: claim.name, tries }, 'a claimed file failed again after its tasks were submitted; they continue');
          return;
        }
        failedCount++;
        logger.error({ err: error, file: claim.name, tries }, 'gave up on a task file after repeated failures; moved to rejected/');
        await reject(claim, [{ file: claim.name, message }], `tandem could not process ${claim.name} (${tries} tries; the file itself may be fine): drop it into the folder again once the cause below is fixed.`);
        return;
      }
      const delay = Math.min(pollMs * 2 ** tries, 60_000);
      retrying.set(claim.path, { claim, tries, nextAt: now() + delay, error: message });
      logger.warn({ err: error, file: claim.name, tries, retry_in_ms: delay }, 'could not process a claimed task file; will try again');
    }
  }

  async function retryDue(): Promise<void> {
    for (const [path, entry] of [...retrying]) {
      if (entry.nextAt > now() || inFlight.has(path)) continue;
      const work = processOrRetry(entry.claim, true, entry.tries + 1).finally(() => inFlight.delete(path));
      inFlight.set(path, work);
      await work;
    }
  }

  /** A claimed file that changed since it settled goes back to the folder to settle again. */
  async function putBackIfChanged(claim: ClaimedFile, stamp: FileStamp): Promise<boolean> {
    const after = await stat(claim.path);
    if (after.size === stamp.size && after.mtimeMs === stamp.mtimeMs) return false;
    const back = await linkUnique(claim.path, paths.inbox, claim.name);
    await rm(claim.path, { force: true });
    claimedCount--;
    logger.info({ file: claim.name, back }, 'the file changed while it was being claimed; waiting for it to settle');
    return true;
  }

  /** Claims a settled file; a file that changed since it settled is put back to settle again. */
  async function takeFile(name: string, stamp: FileStamp): Promise<void> {
    const claim = await claimFile(paths, name, now());
    if (!claim) return;
    claimedCount++;
    if (await putBackIfChanged(claim, stamp)) return;
    await processOrRetry(claim, false, 1, stamp);
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
      const work = takeFile(name, stamp)
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
        await retryDue();
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
      for (const claim of await listClaims(paths)) await processOrRetry(claim, true, 1);
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
      return { claimed: claimedCount, rejected: rejectedCount, failed: failedCount, retrying: retrying.size, tasks: [...tracked.keys()] };
    },

    adopt(taskId, source) {
      trackTask(taskId, { source });
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
