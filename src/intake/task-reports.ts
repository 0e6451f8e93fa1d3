import { appendFile, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { terminalStates, type TaskEvent } from '../model/task-events.js';
import { PlanSchema, type Plan } from '../model/role-outputs.js';
import type { TaskRecord } from '../model/task-record.js';
import type { Runtime } from '../runtime/runtime-api.js';
import type { Logger } from '../telemetry/logger.js';
import { intentPath, linkUnique, writeAtomic, type ClaimedFile, type WatchPaths } from './claim-file.js';
import { planOf, type TaskSummaries } from './task-summary.js';
import { track, type WatchState } from './watch-state.js';
import { branchFacts, readEventLog, renderResult, resultMarker } from './watch-report.js';

/**
 * The files a watcher writes beside a task: its event log, its approved plan, its summary and
 * result, and the move of a finished task file to processed/. Writes for one task go through one
 * chain (`serial`), so log lines and reports never interleave.
 */

interface TaskReportsOptions {
  readonly paths: WatchPaths;
  readonly runtime: Pick<Runtime, 'get'>;
  readonly summaries: TaskSummaries;
  readonly logger: Logger;
  readonly now: () => number;
  readonly state: WatchState;
}

interface TaskReports {
  /** Runs `work` after everything queued for the same task. */
  serial(taskId: string, work: () => Promise<void>): Promise<void>;
  appendEvent(event: TaskEvent): void;
  /** Keeps the task's approved plan, once, for reports written after its snapshot is gone. */
  capturePlan(taskId: string): void;
  hasPlan(taskId: string): boolean;
  /** Writes the summary, then the result (whose first line marks it complete), unless both are current. */
  writeReports(record: TaskRecord, source: string): Promise<void>;
  /** Once every task of a file is finished and reported, the file moves to processed/ and its claim ends. */
  completeClaim(claim: ClaimedFile): Promise<void>;
}

export function createTaskReports(options: TaskReportsOptions): TaskReports {
  const { paths, runtime, logger, now, state } = options;
  const chains = new Map<string, Promise<void>>();
  /** Approved plans, kept because a finished record no longer carries its machine snapshot. */
  const plans = new Map<string, Plan>();
  const planFile = (taskId: string): string => join(paths.logs, `${taskId}.plan.json`);

  function serial(taskId: string, work: () => Promise<void>): Promise<void> {
    const previous = chains.get(taskId) ?? Promise.resolve();
    const next = previous
      .then(work)
      .catch((error: unknown) => logger.error({ err: error, task: taskId }, "could not write the task's files in the watched folder"));
    chains.set(taskId, next);
    void next.then(() => {
      if (chains.get(taskId) === next) chains.delete(taskId);
    });
    return track(state, next);
  }

  /** Read at once, not behind the log writes: a fast task may finish (and drop its snapshot) any moment. */
  function capturePlan(taskId: string): void {
    void track(
      state,
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

  return {
    serial,
    capturePlan,

    appendEvent(event) {
      void serial(event.taskId, () => appendFile(join(paths.logs, `${event.taskId}.jsonl`), `${JSON.stringify(event)}\n`));
    },

    hasPlan(taskId) {
      return plans.has(taskId);
    },

    async writeReports(record, source) {
      if (await reportIsCurrent(record)) return;
      const taskId = record.id;
      const plan = await knownPlan(record);
      const summary = await options.summaries.summarize(record, plan);
      await writeAtomic(join(paths.summaries, `${taskId}.md`), summary);
      const [events, git] = await Promise.all([
        readEventLog(join(paths.logs, `${taskId}.jsonl`)),
        branchFacts(record).catch((error: unknown) => {
          logger.warn({ err: error, task: taskId }, 'could not read the task branch for its report');
          return undefined;
        }),
      ]);
      await writeAtomic(join(paths.results, `${taskId}.md`), renderResult({ record, source, events, git, plan, now: now() }));
      logger.info({ task: taskId, state: record.state }, "wrote the task's result and summary");
    },

    async completeClaim(claim) {
      const entry = state.claimIds.get(claim.path);
      if (!entry) return;
      for (const id of entry.ids) {
        const record = await runtime.get(id);
        // The task's own report may still be on its way; its finalize comes back here.
        if (!record || !terminalStates.has(record.state) || !(await reportIsCurrent(record))) return;
      }
      if (!state.claimIds.delete(claim.path)) return;
      const target = await linkUnique(claim.path, paths.processed, claim.name);
      await rm(claim.path, { force: true });
      await rm(intentPath(claim), { force: true });
      logger.info({ file: claim.name, processed: target }, 'every task of the file finished');
    },
  };
}
