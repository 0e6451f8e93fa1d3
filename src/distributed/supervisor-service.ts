import { z } from 'zod';
import type { Bus, Subscription } from '../bus/bus.js';
import { ReviewDecisionSchema, terminalStates, type SubmitMessage } from '../model/task-events.js';
import type { Store } from '../store/store.js';
import { subject } from '../bus/subjects.js';
import type { WorkConsumer, WorkDelivery, WorkQueue } from '../queue/work-queue.js';
import { errorMessage, InputError } from '../platform/errors.js';
import type { Runtime } from '../runtime/runtime-api.js';
import { TaskRecordSchema, TASKS_PREFIX } from '../model/task-record.js';
import { resolveTaskRepos, type ResolvedTask } from '../tasks/resolve-repos.js';
import type { Logger } from '../telemetry/logger.js';
import type { LeaseStatus, TaskLeases } from './task-leases.js';

/** A person's decision waiting for a supervisor to apply it (`tandem review --nats`). */
const PendingDecisionSchema = z.object({ decision: ReviewDecisionSchema, at: z.number(), by: z.string().optional() });
export type PendingDecision = z.infer<typeof PendingDecisionSchema>;
const DECISIONS_PREFIX = 'decisions';
export function decisionKey(taskId: string): string {
  return `${DECISIONS_PREFIX}.${taskId}`;
}

/** Why a scan took a task: it never had a supervisor, its own lease from an earlier run, or a dead one's. */
function tookWhy(taskId: string, state: string, lease: LeaseStatus): string {
  switch (lease.kind) {
    case 'none':
      return `took task ${taskId} (${state}): no supervisor had taken it yet`;
    case 'mine':
      return `took back task ${taskId} (${state}): its lease is this supervisor's own, from before a restart`;
    default:
      return `took over task ${taskId} (${state}) from supervisor ${lease.owner}: its lease ran out, so that supervisor is gone`;
  }
}

export interface SupervisorServiceOptions {
  readonly runtime: Runtime;
  readonly submissions: WorkQueue;
  readonly store: Store;
  readonly bus: Bus;
  readonly leases: TaskLeases;
  readonly logger: Logger;
  /** How often to look for tasks without a live supervisor and for pending decisions. */
  readonly scanMs: number;
  /** Submissions taken at once. */
  readonly concurrency?: number;
}

export interface SupervisorService {
  /** One pass: take over orphaned tasks and apply pending decisions (also runs every scanMs). */
  scan(): Promise<void>;
  /** Takes no new submissions, stops driving (tasks stay stored, leases released), waits. */
  stop(): Promise<void>;
}

/**
 * The supervisor as a service: takes submissions from the shared queue (acknowledged once the task
 * is stored), drives the tasks it holds a lease on, takes over tasks whose supervisor's lease ran
 * out, and applies people's decisions stored by `tandem review`.
 */
export function startSupervisorService(options: SupervisorServiceOptions): SupervisorService {
  const { runtime, store, bus, leases, logger } = options;
  let stopped = false;

  const intake = async (delivery: WorkDelivery): Promise<void> => {
    const message = delivery.message as SubmitMessage;
    let task: ResolvedTask;
    try {
      [task] = (await resolveTaskRepos(
        [{ spec: { ...message.spec, ...(message.base ? { base: message.base } : {}) }, file: `submission of ${message.spec.id}`, dir: message.repo }],
        {
          repo: message.repo,
          cwd: message.repo,
        },
      )) as [ResolvedTask];
    } catch (error) {
      // It will never become valid: say why and acknowledge, so it does not come back.
      logger.error({ task: message.spec.id, err: error }, `refused the submission of ${message.spec.id}: ${errorMessage(error)}`);
      return;
    }
    if (message.baseCommit !== undefined) task = { ...task, baseCommit: message.baseCommit };
    try {
      await runtime.submit(task);
      logger.info({ task: task.spec.id }, `accepted task ${task.spec.id}`);
    } catch (error) {
      // A redelivery of a submission already stored (this supervisor or another died before the ack).
      if (error instanceof InputError && (await runtime.get(task.spec.id)) !== undefined) return;
      throw error;
    }
  };

  const applyDecision = async (taskId: string, pending: PendingDecision, revision: number): Promise<void> => {
    const record = await runtime.get(taskId);
    if (record === undefined || record.state !== 'AWAITING_HUMAN_REVIEW') {
      // Nothing waits for it (already applied, or the task moved on): drop it.
      await store.delete(decisionKey(taskId), { expectedRevision: revision }).catch(() => undefined);
      return;
    }
    if (!(await leases.claim(taskId))) return;
    try {
      await runtime.decide(taskId, pending.decision);
      logger.info({ task: taskId, decision: pending.decision.decision, by: pending.by }, `applied a person's decision to ${taskId}`);
    } catch (error) {
      logger.warn({ task: taskId, err: error }, `could not apply the decision for ${taskId}: ${errorMessage(error)}`);
    }
    await store.delete(decisionKey(taskId), { expectedRevision: revision }).catch(() => undefined);
  };

  let scanning: Promise<void> | undefined;
  const scanOnce = async (): Promise<void> => {
    const active = new Set(runtime.active());
    for (const entry of await store.list(DECISIONS_PREFIX)) {
      if (stopped) return;
      const parsed = PendingDecisionSchema.safeParse(entry.value);
      const taskId = entry.key.slice(DECISIONS_PREFIX.length + 1);
      if (!parsed.success) {
        logger.warn({ key: entry.key }, `dropped an invalid stored decision: ${parsed.error.issues[0]?.message ?? ''}`);
        await store.delete(entry.key).catch(() => undefined);
        continue;
      }
      if (active.has(taskId)) continue;
      await applyDecision(taskId, parsed.data, entry.revision);
    }
    for (const entry of await store.list(TASKS_PREFIX)) {
      if (stopped) return;
      const parsed = TaskRecordSchema.safeParse(entry.value);
      if (!parsed.success) continue;
      const record = parsed.data;
      if (active.has(record.id) || terminalStates.has(record.state) || record.state === 'AWAITING_HUMAN_REVIEW') continue;
      const lease = await leases.status(record.id);
      if (lease.kind === 'held') continue;
      const handle = await runtime.take(record.id);
      if (handle !== undefined) logger.info({ task: record.id, state: record.state, lease: lease.kind }, tookWhy(record.id, record.state, lease));
    }
  };
  const scan = (): Promise<void> => {
    // One scan at a time; a nudge during a scan joins it.
    scanning ??= scanOnce()
      .catch((error: unknown) => logger.warn({ err: error }, 'the supervisor scan failed; trying again'))
      .finally(() => (scanning = undefined));
    return scanning;
  };

  const consumer: WorkConsumer = options.submissions.consume(intake, { concurrency: options.concurrency ?? 4 });
  // Control messages nudge every supervisor: the one driving the task acts at once, the others scan.
  const control: Subscription = bus.subscribe(subject({ kind: 'control.all' }), async (message) => {
    if (message.type === 'task.abort') {
      if (runtime.active().includes(message.taskId)) await runtime.abort(message.taskId, message.reason);
      return;
    }
    if (message.type === 'review.decision') await scan();
  });
  // Finished tasks leave no results of their role calls behind.
  const cleanup: Subscription = runtime.onEvent((event) => {
    if (event.type !== 'task.finished') return;
    if (event.state === 'ABORTED') {
      // Role calls of an aborted task still running on services are stopped, so nothing more is spent.
      void bus
        .publish(subject({ kind: 'results', taskId: event.taskId }), {
          type: 'role.cancel',
          taskId: event.taskId,
          at: event.at,
          ...(event.reason ? { reason: event.reason } : {}),
        })
        .catch(() => undefined);
    }
    // Running markers too: a replica killed mid-call leaves its marker behind.
    void Promise.all([store.list(`results.${event.taskId}`), store.list(`memo.${event.taskId}`), store.list(`running.${event.taskId}`)])
      .then(([results, memos, running]) => Promise.all([...results, ...memos, ...running].map((entry) => store.delete(entry.key))))
      .catch((error: unknown) => logger.warn({ err: error, task: event.taskId }, 'could not delete the stored role results of a finished task'));
  });
  const timer = setInterval(() => void scan(), options.scanMs);
  timer.unref();
  void scan();

  return {
    scan,
    async stop() {
      stopped = true;
      clearInterval(timer);
      control.unsubscribe();
      await consumer.stop();
      await scanning;
      cleanup.unsubscribe();
      await runtime.close();
      await leases.close();
    },
  };
}
