import { randomBytes } from 'node:crypto';
import type { Mediator } from '../mediator/mediator.js';
import type { Subscription } from '../bus/bus.js';
import { isTerminal, type ReviewDecision, type TaskEvent } from '../model/task-events.js';
import { InputError, errorMessage, formatIssue } from '../platform/errors.js';
import type { Runtime } from '../runtime/runtime-api.js';
import type { TaskRecord } from '../model/task-record.js';
import type { LoadedTask } from '../tasks/load-tasks.js';
import { parseTaskMarkdown } from '../tasks/parse-task-md.js';
import type { ResolvedTask } from '../tasks/resolve-repos.js';
import type { TaskSpec } from '../model/task-spec.js';
import type { TaskSummaries } from '../intake/task-summary.js';
import type { Logger } from '../telemetry/logger.js';

/**
 * What people's channels (Telegram today) may do with tasks: create one from a request, look at
 * them, and decide for a task that waits. Every path validates like the CLI does, and a free-form
 * request goes through the mediator, whose task is checked before anything runs.
 */

type CreateResult =
  | { readonly ok: true; readonly spec: TaskSpec; readonly via: 'mediator' | 'task-file' }
  | { readonly ok: false; readonly reason: 'unavailable' | 'rejected' | 'invalid'; readonly message: string };

export interface TaskDesk {
  /** `text` is a free-form request (through the mediator) or a whole `*.task.md` (starting with `---`). */
  create(text: string, by: string, signal?: AbortSignal): Promise<CreateResult>;
  list(): Promise<TaskRecord[]>;
  get(taskId: string): Promise<TaskRecord | undefined>;
  /** Throws InputError when the task does not wait for a person (or cannot take this decision). */
  decide(taskId: string, decision: ReviewDecision): Promise<void>;
  abort(taskId: string, reason: string): Promise<void>;
  onEvent(handler: (event: TaskEvent) => void): Subscription;
  summarize(record: TaskRecord): Promise<string>;
}

export interface TaskDeskOptions {
  readonly runtime: Pick<Runtime, 'submit' | 'get' | 'list' | 'decide' | 'abort' | 'onEvent'>;
  readonly mediator?: Mediator | undefined;
  /** Repository root new tasks run in (and the mediator checks file names against). */
  readonly repo: string;
  readonly resolve: (tasks: readonly LoadedTask[]) => Promise<ResolvedTask[]>;
  readonly summaries: TaskSummaries;
  readonly logger: Logger;
  /** Called with a new task's id right before it is submitted (the watcher reports it too). */
  readonly beforeSubmit?: (taskId: string, source: string) => void;
  readonly newId?: () => string;
}

/** `tg-20261122-103000-a1b2`: sortable, unique enough, and valid as a branch name. */
function newRequestId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `tg-${stamp}-${randomBytes(2).toString('hex')}`;
}

function issuesText(error: InputError): string {
  return error.issues.map((issue) => formatIssue(issue)).join('\n');
}

export function createTaskDesk(options: TaskDeskOptions): TaskDesk {
  const { runtime, logger } = options;
  const newId = options.newId ?? (() => newRequestId());
  const source = 'telegram';

  async function toSpec(text: string, by: string, signal?: AbortSignal): Promise<CreateResult> {
    if (text.startsWith('---')) {
      try {
        return { ok: true, spec: parseTaskMarkdown(text, source), via: 'task-file' };
      } catch (error) {
        if (error instanceof InputError) return { ok: false, reason: 'invalid', message: issuesText(error) };
        throw error;
      }
    }
    if (!options.mediator) {
      return { ok: false, reason: 'unavailable', message: 'no local model is configured to turn free-form requests into tasks' };
    }
    const result = await options.mediator.interpret(text, { id: newId(), repo: options.repo, by, source: { file: source }, signal });
    if (result.ok) return { ok: true, spec: result.spec, via: 'mediator' };
    logger.warn({ reason: result.reason, attempts: result.attempts, error: result.message }, 'the mediator could not turn a request into a task');
    return { ok: false, reason: result.reason, message: result.message };
  }

  return {
    async create(text, by, signal) {
      const made = await toSpec(text.trim(), by, signal);
      if (!made.ok) return made;
      const { spec } = made;
      // A chat message must not point tandem at any folder of the machine.
      if (spec.repo !== undefined)
        return { ok: false, reason: 'invalid', message: `tasks from ${source} run in ${options.repo}; remove \`repo:\` from the task` };
      const existing = await runtime.get(spec.id);
      if (existing) return { ok: false, reason: 'invalid', message: `a task with id ${spec.id} already exists (state ${existing.state}); use another id` };
      let resolved: ResolvedTask | undefined;
      try {
        [resolved] = await options.resolve([{ spec, file: source, dir: options.repo }]);
      } catch (error) {
        if (error instanceof InputError) return { ok: false, reason: 'invalid', message: issuesText(error) };
        throw error;
      }
      if (!resolved) return { ok: false, reason: 'invalid', message: 'the task did not resolve to a repository' };
      options.beforeSubmit?.(spec.id, `${source} (${by})`);
      const handle = await runtime.submit(resolved);
      void handle.outcome.catch((error: unknown) => logger.error({ task: spec.id, error: errorMessage(error) }, 'a task stopped with an internal error'));
      logger.info({ task: spec.id, by, via: made.via }, 'created a task from Telegram');
      return made;
    },
    list: () => runtime.list(),
    get: (taskId) => runtime.get(taskId),
    async decide(taskId, decision) {
      const handle = await runtime.decide(taskId, decision);
      void handle.outcome.catch((error: unknown) => logger.error({ task: taskId, error: errorMessage(error) }, 'a task stopped with an internal error'));
    },
    async abort(taskId, reason) {
      const record = await runtime.get(taskId);
      if (!record) throw new InputError([{ file: source, field: 'task', message: `no task with id ${taskId}` }]);
      if (isTerminal(record.state)) {
        throw new InputError([{ file: source, field: 'task', message: `task ${taskId} is already ${record.state}` }]);
      }
      // A running task stops at its next transition; the notice tells the person when it did.
      void runtime.abort(taskId, reason).catch((error: unknown) => logger.error({ task: taskId, error: errorMessage(error) }, 'could not abort a task'));
    },
    onEvent: (handler) => runtime.onEvent(handler),
    summarize: (record) => options.summaries.summarize(record),
  };
}
