import type { Bus, Subscription } from '../bus/bus.js';
import { subject } from '../bus/subjects.js';
import { restingStates, terminalStates, type ReviewDecision, type TaskEvent } from '../model/task-events.js';
import { TASKS_PREFIX, TaskRecordSchema, taskKey, type TaskRecord } from '../model/task-record.js';
import type { Clock } from '../platform/clock.js';
import { InputError, StoreError } from '../platform/errors.js';
import type { WorkQueue } from '../queue/work-queue.js';
import { decisionProblem } from '../runtime/review-decision.js';
import type { Runtime, TaskHandle } from '../runtime/runtime-api.js';
import { outcomeOf, type TaskOutcome } from '../runtime/task-outcome.js';
import type { Store } from '../store/store.js';
import type { Logger } from '../telemetry/logger.js';
import { decisionKey, type PendingDecision } from './supervisor-service.js';

/**
 * The runtime as the people tools (`watch`, `bot`) see it, over NATS: tasks go to the supervisors'
 * submissions queue, records are read from the shared store, decisions are stored for a supervisor
 * to apply (as `tandem review --nats` does), and an outcome is the task's record once it rests.
 * Events arrive at most once over NATS, so outcomes are also looked up every `pollMs`.
 */
export type RemoteTasks = Pick<Runtime, 'submit' | 'resume' | 'get' | 'list' | 'decide' | 'abort' | 'onEvent'> & { close(): void };

export interface RemoteTasksOptions {
  readonly store: Store;
  readonly bus: Bus;
  /** The supervisors' submissions queue (only enqueued to). */
  readonly submissions: WorkQueue;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Who decides, for the stored decision (the user or the chat). */
  readonly by?: string | undefined;
  readonly pollMs?: number;
}

interface Waiter {
  /** Resolves at a resting record written after this revision. */
  readonly after: number;
  /** Sent again until the task ends: a task.abort no supervisor heard is not lost. */
  readonly abortReason?: string | undefined;
  readonly resolve: (outcome: TaskOutcome) => void;
}

/** How long an abort is announced again while no supervisor has ended the task. */
const ABORT_RETRY_MS = 10 * 60_000;

export function createRemoteTasks(options: RemoteTasksOptions): RemoteTasks {
  const { store, bus, clock, logger } = options;
  const waiters = new Map<string, Waiter[]>();
  const abortSince = new Map<string, number>();

  async function read(taskId: string): Promise<{ record: TaskRecord; revision: number } | undefined> {
    const entry = await store.get(taskKey(taskId));
    if (!entry) return undefined;
    const parsed = TaskRecordSchema.safeParse(entry.value);
    return parsed.success ? { record: parsed.data, revision: entry.revision } : undefined;
  }

  async function check(taskId: string): Promise<void> {
    const list = waiters.get(taskId);
    if (!list || list.length === 0) return;
    const found = await read(taskId);
    if (!found) return;
    const rests = restingStates.has(found.record.state);
    for (const waiter of [...list]) {
      const done = waiter.abortReason === undefined ? rests && found.revision > waiter.after : terminalStates.has(found.record.state);
      if (done) {
        list.splice(list.indexOf(waiter), 1);
        waiter.resolve(outcomeOf(found.record, clock.now()));
      } else if (waiter.abortReason !== undefined) {
        await announceAbort(taskId, waiter.abortReason);
      }
    }
    if (list.length === 0) waiters.delete(taskId);
  }

  function wait(taskId: string, after: number, abortReason?: string): Promise<TaskOutcome> {
    const outcome = new Promise<TaskOutcome>((resolve) => {
      const list = waiters.get(taskId) ?? [];
      list.push({ after, abortReason, resolve });
      waiters.set(taskId, list);
    });
    void check(taskId).catch(() => undefined);
    return outcome;
  }

  async function announceAbort(taskId: string, reason: string): Promise<void> {
    const since = abortSince.get(taskId) ?? clock.now();
    abortSince.set(taskId, since);
    if (clock.now() - since > ABORT_RETRY_MS) return;
    await bus.publish(subject({ kind: 'control', taskId }), { type: 'task.abort', taskId, at: clock.now(), ...(reason === '' ? {} : { reason }) });
  }

  const events: Subscription = bus.subscribe(subject({ kind: 'events.all' }), (message) => {
    if (!('taskId' in message) || !waiters.has(message.taskId)) return;
    if (message.type === 'task.finished' || (message.type === 'task.state' && restingStates.has(message.state)))
      void check(message.taskId).catch(() => undefined);
  });
  const timer = setInterval(() => {
    for (const taskId of [...waiters.keys()]) {
      void check(taskId).catch((error: unknown) => logger.warn({ err: error, task: taskId }, 'could not read a task record from NATS'));
    }
  }, options.pollMs ?? 2_000);
  timer.unref();

  async function storeDecision(taskId: string, decision: ReviewDecision): Promise<number> {
    const found = await read(taskId);
    if (!found) throw new InputError([{ file: 'review', field: 'task', message: `no task with id ${taskId}` }]);
    const problem = decisionProblem(found.record, decision);
    if (problem) throw new InputError([{ file: 'review', ...problem }]);
    const pending: PendingDecision = { decision, at: clock.now(), ...(options.by === undefined ? {} : { by: options.by }) };
    try {
      await store.put(decisionKey(taskId), pending, { expectedRevision: 0 });
    } catch (error) {
      if (error instanceof StoreError && error.code === 'conflict') {
        throw new InputError([{ file: 'review', field: 'task', message: `a decision for ${taskId} is already waiting for a supervisor to apply it` }]);
      }
      throw error;
    }
    // Stored first, so a supervisor that misses this nudge still applies it at its next scan.
    await bus.publish(subject({ kind: 'control', taskId }), {
      type: 'review.decision',
      taskId,
      at: clock.now(),
      decision,
      ...(pending.by ? { by: pending.by } : {}),
    });
    return found.revision;
  }

  async function list(): Promise<TaskRecord[]> {
    const entries = await store.list(TASKS_PREFIX);
    return entries
      .flatMap((entry) => {
        const parsed = TaskRecordSchema.safeParse(entry.value);
        return parsed.success ? [parsed.data] : [];
      })
      .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  }

  const handle = (id: string, outcome: Promise<TaskOutcome>): TaskHandle => ({ id, outcome });

  return {
    async submit(task) {
      const id = task.spec.id;
      const existing = await read(id);
      if (existing) {
        throw new InputError([
          {
            file: task.spec.source?.file ?? 'task',
            line: task.spec.source?.line,
            field: 'id',
            message: `a task with id ${id} already exists (state ${existing.record.state}); use another id`,
          },
        ]);
      }
      const message = { type: 'task.submit' as const, spec: task.spec, repo: task.repo, base: task.base, baseCommit: task.baseCommit, at: clock.now() };
      // The id makes a submission repeated after a crash a no-op within the queue's window.
      await options.submissions.enqueue(subject({ kind: 'tasks.submit' }), message, { id });
      return handle(id, wait(id, 0));
    },

    async resume() {
      const handles: TaskHandle[] = [];
      for (const record of await list()) if (!restingStates.has(record.state)) handles.push(handle(record.id, wait(record.id, 0)));
      return handles;
    },

    async decide(taskId, decision) {
      const revision = await storeDecision(taskId, decision);
      return handle(taskId, wait(taskId, revision));
    },

    async abort(taskId, reason) {
      const found = await read(taskId);
      if (!found) throw new InputError([{ file: 'abort', field: 'task', message: `no task with id ${taskId}` }]);
      if (terminalStates.has(found.record.state)) return outcomeOf(found.record, clock.now());
      // A waiting task has no supervisor driving it: the stored decision reaches the next one.
      if (found.record.state === 'AWAITING_HUMAN_REVIEW') return wait(taskId, await storeDecision(taskId, { decision: 'abort' }));
      await announceAbort(taskId, reason ?? '');
      return wait(taskId, found.revision, reason ?? '');
    },

    async get(taskId) {
      return (await read(taskId))?.record;
    },

    list,

    onEvent(handler) {
      return bus.subscribe(subject({ kind: 'events.all' }), (message) => {
        if ('taskId' in message && /^(task|role|gate|step)\./.test(message.type)) handler(message as TaskEvent);
      });
    },

    close() {
      clearInterval(timer);
      events.unsubscribe();
    },
  };
}
