import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { restingStates } from '../model/task-events.js';
import { InputError, formatIssue, type InputIssue } from '../platform/errors.js';
import type { Runtime } from '../runtime/runtime-api.js';
import type { Logger } from '../telemetry/logger.js';
import { loadTaskFiles, type LoadedTask } from '../tasks/load-tasks.js';
import type { ResolvedTask } from '../tasks/resolve-repos.js';
import { claimFile, intentPath, linkUnique, writeAtomic, type ClaimedFile, type FileStamp, type WatchPaths } from './claim-file.js';
import { trackTask, type WatchState } from './watch-state.js';

/**
 * What the watcher does with a claimed task file: validate it (a bad file goes to rejected/ with
 * an error naming line and field), submit its tasks, and retry a claim that failed for a reason
 * that is not the file's. With `recovering`, the tasks a previous run already submitted (named in
 * the claim's intent file) are taken up instead of submitted again.
 */

const IntentSchema = z.object({ name: z.string(), ids: z.array(z.string()), at: z.number() });

interface ClaimProcessorOptions {
  readonly paths: WatchPaths;
  readonly runtime: Pick<Runtime, 'submit' | 'get'>;
  readonly resolve: (tasks: readonly LoadedTask[]) => Promise<ResolvedTask[]>;
  readonly logger: Logger;
  readonly now: () => number;
  readonly pollMs: number;
  readonly maxClaimTries: number;
  readonly state: WatchState;
  /** Writes the reports of a task found resting, repairing its log first. */
  readonly finalizeRecovered: (taskId: string) => void;
  /** Reports a submitted task once its outcome settles. */
  readonly watchOutcome: (taskId: string, outcome: Promise<unknown>) => void;
}

interface ClaimProcessor {
  /** Claims a settled file; a file that changed since it settled is put back to settle again. */
  takeFile(name: string, stamp: FileStamp): Promise<void>;
  /**
   * Processes a claim; a failure that is not the file's (InputError is handled inside) keeps the claim
   * for another try after a growing delay, and after `maxClaimTries` moves it to rejected/ with the error.
   */
  processOrRetry(claim: ClaimedFile, recovering: boolean, tries: number, stamp?: FileStamp): Promise<void>;
  /** Tries again the claims whose delay has passed. */
  retryDue(): Promise<void>;
}

export function createClaimProcessor(options: ClaimProcessorOptions): ClaimProcessor {
  const { paths, runtime, logger, now, state } = options;

  async function reject(claim: ClaimedFile, issues: readonly InputIssue[], headline?: string): Promise<void> {
    const inboxPath = join(paths.inbox, claim.name);
    const named = issues.map((issue) => ({ ...issue, file: issue.file === claim.path || issue.file === inboxPath ? claim.name : issue.file }));
    const target = await linkUnique(claim.path, paths.rejected, claim.name);
    const text = [
      headline ?? `tandem did not accept ${claim.name}; fix it and drop it into the folder again.`,
      '',
      ...named.map((issue) => formatIssue(issue)),
      '',
    ].join('\n');
    await writeAtomic(`${target}.error.txt`, text);
    await rm(claim.path, { force: true });
    await rm(intentPath(claim), { force: true });
    state.counts.rejected++;
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

  /** A claimed file that changed since it settled goes back to the folder to settle again. */
  async function putBackIfChanged(claim: ClaimedFile, stamp: FileStamp): Promise<boolean> {
    const after = await stat(claim.path);
    if (after.size === stamp.size && after.mtimeMs === stamp.mtimeMs) return false;
    const back = await linkUnique(claim.path, paths.inbox, claim.name);
    await rm(claim.path, { force: true });
    state.counts.claimed--;
    logger.info({ file: claim.name, back }, 'the file changed while it was being claimed; waiting for it to settle');
    return true;
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
    const tasks = loaded.map((t) => ({
      ...t,
      file: inboxPath,
      dir: paths.inbox,
      spec: { ...t.spec, source: { file: inboxPath, ...(t.spec.source?.line === undefined ? {} : { line: t.spec.source.line }) } },
    }));
    const ours = new Set(recovering ? await readIntent(claim) : []);
    const issues: InputIssue[] = [];
    const existing: string[] = [];
    for (const task of tasks) {
      const id = task.spec.id;
      const record = await runtime.get(id);
      if (record && ours.has(id)) existing.push(id);
      else if (record || state.reserved.has(id) || state.tracked.has(id)) {
        issues.push({
          file: claim.name,
          line: task.spec.source.line,
          field: 'id',
          message: `a task with id ${id} already exists${record ? ` (state ${record.state})` : ''}; give this one another id`,
        });
      }
    }
    if (issues.length > 0) return reject(claim, issues);
    const fresh = tasks.filter((t) => !existing.includes(t.spec.id));
    const ids = tasks.map((t) => t.spec.id);
    for (const id of ids) state.reserved.add(id);
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
      state.claimIds.set(claim.path, { claim, ids: [...existing, ...resolved.map((r) => r.spec.id)] });
      for (const id of [...existing, ...resolved.map((r) => r.spec.id)]) trackTask(state, id, { source: claim.name, claim });
      for (const task of resolved) {
        const handle = await runtime.submit(task);
        options.watchOutcome(handle.id, handle.outcome);
      }
      logger.info({ file: claim.name, tasks: ids, recovered: existing.length }, recovering ? 'took up a claimed file again' : 'claimed a task file');
      for (const id of existing) {
        const record = await runtime.get(id);
        if (record && restingStates.has(record.state)) options.finalizeRecovered(id);
      }
    } finally {
      for (const id of ids) state.reserved.delete(id);
    }
  }

  async function processOrRetry(claim: ClaimedFile, recovering: boolean, tries: number, stamp?: FileStamp): Promise<void> {
    try {
      await processClaim(claim, recovering, stamp);
      state.retrying.delete(claim.path);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (tries >= options.maxClaimTries) {
        state.retrying.delete(claim.path);
        // Its tasks may be partly submitted; those keep running and report as usual.
        if (state.claimIds.has(claim.path)) {
          logger.error({ err: error, file: claim.name, tries }, 'a claimed file failed again after its tasks were submitted; they continue');
          return;
        }
        state.counts.failed++;
        logger.error({ err: error, file: claim.name, tries }, 'gave up on a task file after repeated failures; moved to rejected/');
        await reject(
          claim,
          [{ file: claim.name, message }],
          `tandem could not process ${claim.name} (${tries} tries; the file itself may be fine): drop it into the folder again once the cause below is fixed.`,
        );
        return;
      }
      const delay = Math.min(options.pollMs * 2 ** tries, 60_000);
      state.retrying.set(claim.path, { claim, tries, nextAt: now() + delay, error: message });
      logger.warn({ err: error, file: claim.name, tries, retry_in_ms: delay }, 'could not process a claimed task file; will try again');
    }
  }

  return {
    processOrRetry,

    async takeFile(name, stamp) {
      const claim = await claimFile(paths, name, now());
      if (!claim) return;
      state.counts.claimed++;
      if (await putBackIfChanged(claim, stamp)) return;
      await processOrRetry(claim, false, 1, stamp);
    },

    async retryDue() {
      for (const [path, entry] of [...state.retrying]) {
        if (entry.nextAt > now() || state.inFlight.has(path)) continue;
        const work = processOrRetry(entry.claim, true, entry.tries + 1).finally(() => state.inFlight.delete(path));
        state.inFlight.set(path, work);
        await work;
      }
    },
  };
}
