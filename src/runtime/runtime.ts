import { createActor, type InspectionEvent, type Snapshot } from 'xstate';
import type { AgentRunner } from '../runners/agent-runner.js';
import type { Bus, Subscription } from '../bus/bus.js';
import { restingStates, terminalStates, type ReviewDecision, type TaskEvent, type TaskState } from '../model/task-events.js';
import type { Store } from '../store/store.js';
import { subject } from '../bus/subjects.js';
import { systemClock, type Clock } from '../platform/clock.js';
import type { Limits } from '../model/limits.js';
import type { RoutingConfig } from '../routing/routing-options.js';
import { InputError, StoreError, TandemError } from '../platform/errors.js';
import type { QualityGate } from '../model/gate-report.js';
import { EscalationKind } from '../model/role-contracts.js';
import { supervisorMachine, type SupervisorContext, type SupervisorEvent, type SupervisorInput } from '../machines/supervisor.js';
import type { ResolvedTask } from '../tasks/resolve-repos.js';
import { silentLogger, type Logger } from '../telemetry/logger.js';
import { bindMetrics } from '../telemetry/bind-metrics.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { Workspace } from '../workspace/workspace.js';
import { bindHistory } from '../routing/history-recorder.js';
import { createRouting, runnerIssues, type Routing } from '../routing/routing.js';
import { createRoleActors } from './role-actors.js';
import type { RoleExecutor } from '../roles/role-executor.js';
import { Scheduler } from './scheduler.js';
import { TASKS_PREFIX, TaskRecordSchema, taskKey, type TaskRecord } from '../model/task-record.js';

/** What the engine reads of the config (the config floor composes it; the runtime never sees the file). */
export type RuntimeConfig = RoutingConfig & { readonly concurrency: number; readonly limits: Limits };

export interface RuntimeOptions {
  readonly config: RuntimeConfig;
  /** Runners by name; each role's model names the runner it goes through. */
  readonly runners: ReadonlyMap<string, AgentRunner>;
  readonly store: Store;
  readonly bus: Bus;
  readonly gate: QualityGate;
  readonly workspace: Workspace;
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  readonly random?: () => number;
  /** XState inspection callback (e.g. @statelyai/inspect). */
  readonly inspect?: (event: InspectionEvent) => void;
  /**
   * Model routing, the cost ledger, step history, circuit breakers and concurrency limits. By
   * default built from `config` over `store`; pass one to share it between runtimes.
   */
  readonly routing?: Routing;
  /** Where role work runs; default in this process. Distributed mode sends it to role services. */
  readonly executor?: RoleExecutor;
  /**
   * Who may drive a task (distributed mode: a lease in the shared store). A task whose claim fails
   * is left to its owner; a task rests or stops with its claim released.
   */
  readonly ownership?: TaskOwnership;
}

export interface TaskOwnership {
  claim(taskId: string): Promise<boolean>;
  release(taskId: string): Promise<void>;
}

export interface TaskOutcome {
  readonly id: string;
  readonly state: TaskState;
  readonly branch?: string | undefined;
  readonly commits: readonly { readonly stepId: string; readonly sha: string }[];
  readonly costUsd: number;
  /** The part of `costUsd` priced from estimated token counts. */
  readonly estimatedCostUsd: number;
  readonly durationMs: number;
  /** Why the task waits for a person, failed or was aborted. */
  readonly reason?: string | undefined;
}

export interface TaskHandle {
  readonly id: string;
  /** Settles when the task is DONE, FAILED, ABORTED or waits for a person. */
  readonly outcome: Promise<TaskOutcome>;
}

export interface Runtime {
  /** Records the task (nothing is lost if the process dies now) and queues it. */
  submit(task: ResolvedTask): Promise<TaskHandle>;
  /** Continues every unfinished task that is not waiting for a person. */
  resume(): Promise<TaskHandle[]>;
  /** Applies a person's decision to a task waiting in AWAITING_HUMAN_REVIEW and continues it. */
  decide(taskId: string, decision: ReviewDecision): Promise<TaskHandle>;
  abort(taskId: string, reason?: string): Promise<TaskOutcome>;
  get(taskId: string): Promise<TaskRecord | undefined>;
  list(): Promise<TaskRecord[]>;
  onEvent(handler: (event: TaskEvent) => void): Subscription;
  /**
   * Drives one unfinished task that is not waiting for a person and not driven here already, e.g.
   * one whose supervisor died. Undefined when there is nothing to do.
   */
  take(taskId: string): Promise<TaskHandle | undefined>;
  /** Stops driving a task here without changing it (its ownership moved to another supervisor). */
  stopTask(taskId: string): void;
  /** Ids of the tasks this runtime drives or has queued. */
  active(): string[];
  /** Resolves when no task is running or queued. */
  idle(): Promise<void>;
  /** Stops driving tasks; their persisted state stays, so a later `resume` continues them. */
  close(): Promise<void>;
}

const RESTING = restingStates;

interface Driver {
  readonly id: string;
  /** The invocation count of the last stored record (Checkpoint). */
  invocation: number;
  /** Stopped because another supervisor owns the task now: its claim is not this driver's to release. */
  abandoned: boolean;
  persisted: Promise<void>;
  persistError: Error | undefined;
  send(event: SupervisorEvent): void;
  readonly outcome: Promise<TaskOutcome>;
}

export function createRuntime(options: RuntimeOptions): Runtime {
  const { config, store, bus, gate, workspace } = options;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger();
  const scheduler = new Scheduler(config.concurrency);
  const drivers = new Map<string, Driver>();
  const pending = new Set<Promise<unknown>>();
  let closed = false;
  /** What close() and stopTask() must stop: one callback per running driver (no listener piles up per task). */
  const stoppers = new Map<string, () => void>();
  const metricsBinding = options.metrics ? bindMetrics(bus, options.metrics) : undefined;

  const runnerProblems = runnerIssues(config, [...options.runners.keys()]);
  if (runnerProblems.length > 0) throw new InputError(runnerProblems);
  const routing = options.routing ?? createRouting({ config, store, clock, random: options.random, runnerAvailable: (name) => options.runners.has(name) });
  const historyBinding = bindHistory(bus, routing.history, { onError: (error) => logger.warn({ err: error }, 'could not record a step outcome') });

  const actors = createRoleActors({
    runners: options.runners,
    routing,
    logger,
    limits: config.limits,
    clock,
    bus,
    gate,
    workspace,
    random: options.random,
    checkpoint: async (taskId) => {
      // The observer that persists a snapshot runs right after XState starts the invoked actor;
      // yielding once lets it register the write, which this then waits for.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const driver = drivers.get(taskId);
      if (!driver) return { invocation: 0 };
      await driver.persisted;
      if (driver.persistError) throw driver.persistError;
      return { invocation: driver.invocation };
    },
    ...(options.executor ? { executor: options.executor } : {}),
  });
  const machine = supervisorMachine.provide({ actors });

  const publish = (event: TaskEvent): void => {
    void bus.publish(subject({ kind: 'events', taskId: event.taskId, event: event.type }), event).catch((error: unknown) => {
      logger.warn({ err: error, task: event.taskId }, 'could not publish a lifecycle event');
    });
  };

  // A silent logger costs nothing: it does not even subscribe.
  const logEvents = logger.isLevelEnabled('info')
    ? bus.subscribe(subject({ kind: 'events.all' }), (message) => {
        if (!('taskId' in message) || !message.type.includes('.')) return;
        logEvent(logger, message as TaskEvent);
      })
    : undefined;

  function track<T>(promise: Promise<T>): Promise<T> {
    pending.add(promise);
    void promise.finally(() => pending.delete(promise)).catch(() => undefined);
    return promise;
  }

  async function readRecord(taskId: string): Promise<{ record: TaskRecord; revision: number } | undefined> {
    const entry = await store.get(taskKey(taskId));
    if (!entry) return undefined;
    const parsed = TaskRecordSchema.safeParse(entry.value);
    if (!parsed.success) throw new StoreError('corrupt', `the stored record of task ${taskId} is invalid: ${parsed.error.issues[0]?.message ?? ''}`);
    return { record: parsed.data, revision: entry.revision };
  }

  function inputOf(record: TaskRecord): SupervisorInput {
    return {
      task: record.spec,
      repo: record.repo,
      baseCommit: record.baseCommit,
      startedAt: record.createdAt,
      limits: { maxAttempts: config.limits.max_attempts, maxPlanRounds: config.limits.max_plan_rounds, maxPauseMs: config.limits.max_pause_ms },
    };
  }

  /** Runs one task's machine until it rests; every transition is stored before its effects start. */
  function drive(start: { record: TaskRecord; revision: number }, firstEvent?: SupervisorEvent): TaskHandle {
    const id = start.record.id;
    const existing = drivers.get(id);
    if (existing) {
      if (firstEvent) existing.send(firstEvent);
      return { id, outcome: existing.outcome };
    }
    let resolveOutcome!: (outcome: TaskOutcome) => void;
    let rejectOutcome!: (error: unknown) => void;
    const outcome = new Promise<TaskOutcome>((resolve, reject) => {
      resolveOutcome = resolve;
      rejectOutcome = reject;
    });
    const queue: SupervisorEvent[] = firstEvent ? [firstEvent] : [];
    let send: (event: SupervisorEvent) => void = (event) => queue.push(event);
    const driver: Driver = {
      id,
      invocation: start.record.invocations ?? 0,
      abandoned: false,
      persisted: Promise.resolve(),
      persistError: undefined,
      send: (event) => send(event),
      outcome,
    };
    drivers.set(id, driver);

    const job = async (): Promise<void> => {
      let record = start.record;
      let revision = start.revision;
      if (options.ownership && !(await options.ownership.claim(id))) {
        // Another supervisor drives it; this one leaves it alone.
        drivers.delete(id);
        resolveOutcome(outcomeOf(record, clock.now()));
        return;
      }
      let invocations = record.invocations ?? 0;
      let knownChildren: Set<unknown> | undefined;
      const actor = createActor(machine, {
        input: inputOf(record),
        ...(record.snapshot ? { snapshot: record.snapshot as Snapshot<unknown> } : {}),
        ...(options.inspect ? { inspect: options.inspect } : {}),
      });
      // Each driver announces the state it starts in (NEW, or where a resumed task stood) once.
      let published: TaskState | undefined;
      let rested: (() => void) | undefined;
      const restedPromise = new Promise<void>((resolve) => (rested = resolve));
      let lastSnapshot: unknown;
      const persist = (): void => {
        const snapshot = actor.getSnapshot();
        // A task restored in a resting state (a person's decision is about to be sent) is not done yet.
        if (started && RESTING.has(snapshot.value)) rested?.();
        // start() already reported the first snapshot; the same snapshot is never written twice.
        if (snapshot === lastSnapshot) return;
        lastSnapshot = snapshot;
        // A child actor not seen before is a new invocation; the first snapshot (a restart's too)
        // only learns what is already running.
        const children = Object.values(snapshot.children);
        if (knownChildren !== undefined && children.some((child) => !knownChildren?.has(child))) invocations++;
        knownChildren = new Set(children);
        const persistedSnapshot = actor.getPersistedSnapshot();
        const state = snapshot.value;
        const next = { ...recordFrom(record, snapshot.context, state, persistedSnapshot, clock.now()), invocations };
        driver.persisted = driver.persisted
          .then(async () => {
            if (driver.persistError) return;
            revision = await store.put(taskKey(id), next, { expectedRevision: revision });
            const before = record;
            record = next;
            driver.invocation = next.invocations;
            for (const commit of next.commits.slice(before.commits.length)) {
              publish({ type: 'step.committed', taskId: id, at: next.updatedAt, stepId: commit.stepId, sha: commit.sha, branch: next.branch ?? '' });
            }
            // PLANNED is an instant state the machine passes within one step: it is announced from the
            // moment the plan's first step starts, so every lifecycle state of DESIGN §3 is seen.
            if (state !== published && before.stepId === undefined && next.stepId !== undefined) {
              publishState({ ...next, state: 'PLANNED', stepId: undefined, stepIndex: undefined }, published);
              published = 'PLANNED';
            }
            if (state !== published) {
              publishState(next, published);
              published = state;
            }
          })
          .catch((error: unknown) => {
            driver.persistError = error instanceof Error ? error : new Error(String(error));
            logger.error({ err: error, task: id }, 'could not persist the task; stopping it');
            rested?.();
          });
      };
      actor.subscribe({
        next: persist,
        error: (error) => {
          driver.persistError = error instanceof Error ? error : new Error(String(error));
          rested?.();
        },
      });
      const limitMs = record.spec.time_limit_minutes * 60_000;
      const watchdog = new AbortController();
      const stop = (): void => rested?.();
      stoppers.set(id, stop);
      clock
        .sleep(Math.max(0, (record.activeSince ?? record.createdAt) + limitMs - clock.now()), watchdog.signal)
        .then(() => actor.send({ type: 'ESCALATE', kind: EscalationKind.timeLimit, reason: `the task ran longer than its limit of ${record.spec.time_limit_minutes} minutes` }))
        .catch(() => undefined);

      let started = false;
      actor.start();
      send = (event) => actor.send(event);
      for (const event of queue.splice(0)) actor.send(event);
      started = true;
      persist();
      await restedPromise;
      watchdog.abort();
      stoppers.delete(id);
      actor.stop();
      await driver.persisted;
      drivers.delete(id);
      // A driver that lost its claim must not release it: a new driver (here or elsewhere) holds it now.
      if (!driver.abandoned) await options.ownership?.release(id).catch((error: unknown) => logger.warn({ err: error, task: id }, 'could not release the task'));
      if (driver.persistError) throw driver.persistError;
      const final = record;
      if (final.state === 'ABORTED' && final.worktreePath && final.branch) {
        await workspace.remove({ repo: final.repo, path: final.worktreePath, branch: final.branch }).catch((error: unknown) => {
          logger.warn({ err: error, task: id }, 'could not remove the worktree of an aborted task');
        });
      }
      if (final.state === 'DONE' && final.worktreePath) {
        // The branch keeps the work; the worktree is only scratch space.
        await workspace.remove({ repo: final.repo, path: final.worktreePath }).catch((error: unknown) => {
          logger.warn({ err: error, task: id }, 'could not remove the worktree of a finished task');
        });
      }
      if (terminalStates.has(final.state)) {
        publish({
          type: 'task.finished',
          taskId: id,
          at: clock.now(),
          state: final.state,
          branch: final.branch,
          commits: final.commits.map((c) => c.sha),
          cost_usd: final.costUsd,
          cost_estimated_usd: final.estimatedCostUsd ?? 0,
          duration_ms: (final.finishedAt ?? clock.now()) - final.createdAt,
          reason: final.failure,
        });
      }
      resolveOutcome(outcomeOf(final, clock.now()));
    };

    void track(
      scheduler.run(start.record.spec.priority, job).catch((error: unknown) => {
        drivers.delete(id);
        rejectOutcome(error);
      }),
    );
    void outcome.catch(() => undefined);
    return { id, outcome };
  }

  function publishState(record: TaskRecord, previous: TaskState | undefined): void {
    publish({
      type: 'task.state',
      taskId: record.id,
      at: record.updatedAt,
      state: record.state,
      previous: previous === record.state ? undefined : previous,
      stepId: record.stepId,
      stepIndex: record.stepIndex,
      stepCount: record.stepCount,
      attempt: record.attempt,
      reason: record.state === 'AWAITING_HUMAN_REVIEW' ? record.waiting?.reason : record.state === 'FAILED' || record.state === 'ABORTED' ? record.failure : undefined,
    });
  }

  function assertOpen(): void {
    if (closed) throw new TandemError('the runtime is closed');
  }

  return {
    async submit(task) {
      assertOpen();
      const now = clock.now();
      const record: TaskRecord = {
        version: 1,
        id: task.spec.id,
        spec: task.spec,
        repo: task.repo,
        base: task.base,
        baseCommit: task.baseCommit,
        state: 'NEW',
        attempt: 0,
        commits: [],
        costUsd: 0,
        createdAt: now,
        updatedAt: now,
      };
      let revision: number;
      try {
        revision = await store.put(taskKey(record.id), record, { expectedRevision: 0 });
      } catch (error) {
        if (error instanceof StoreError && error.code === 'conflict') {
          const existing = await readRecord(record.id);
          throw new InputError([
            {
              file: task.spec.source?.file ?? 'task',
              line: task.spec.source?.line,
              field: 'id',
              message: `a task with id ${record.id} already exists in this state dir (state ${existing?.record.state ?? 'unknown'}); use another id, or \`tandem resume\` / \`tandem review\` for the existing one`,
            },
          ]);
        }
        throw error;
      }
      return drive({ record, revision });
    },

    async resume() {
      assertOpen();
      const entries = await store.list(TASKS_PREFIX);
      const handles: TaskHandle[] = [];
      for (const entry of entries) {
        const record = TaskRecordSchema.parse(entry.value);
        if (RESTING.has(record.state)) continue;
        handles.push(drive({ record, revision: entry.revision }));
      }
      return handles;
    },

    async decide(taskId, decision) {
      assertOpen();
      const active = drivers.get(taskId);
      const found = await readRecord(taskId);
      if (!found) throw new InputError([{ file: 'review', field: 'task', message: `no task with id ${taskId}` }]);
      if (found.record.state !== 'AWAITING_HUMAN_REVIEW') {
        throw new InputError([{ file: 'review', field: 'task', message: `task ${taskId} is ${found.record.state}, not waiting for a person` }]);
      }
      const stage = found.record.waiting?.stage;
      if (decision.decision === 'skip_step' && stage !== 'step') {
        throw new InputError([{ file: 'review', field: 'decision', message: `task ${taskId} waits on its plan; there is no step to skip (use --approve, --feedback or --abort)` }]);
      }
      if (decision.decision === 'raise_budget' && found.record.waiting?.kind !== EscalationKind.budget) {
        throw new InputError([{ file: 'review', field: 'decision', message: `task ${taskId} waits for a person because of ${found.record.waiting?.kind ?? 'something else'}, not a budget (use --approve, --feedback, --skip-step or --abort)` }]);
      }
      if (decision.decision === 'approve' && stage === 'plan' && !found.record.snapshot) {
        throw new InputError([{ file: 'review', field: 'decision', message: `task ${taskId} has no plan to approve` }]);
      }
      const event: SupervisorEvent = { type: 'REVIEW', decision };
      if (active) {
        active.send(event);
        return { id: taskId, outcome: active.outcome };
      }
      // Time spent waiting for the person does not count against the task's time limit.
      return drive({ record: { ...found.record, activeSince: clock.now() }, revision: found.revision }, event);
    },

    async abort(taskId, reason) {
      assertOpen();
      const active = drivers.get(taskId);
      if (active) {
        active.send({ type: 'ABORT', reason });
        return active.outcome;
      }
      const found = await readRecord(taskId);
      if (!found) throw new InputError([{ file: 'abort', field: 'task', message: `no task with id ${taskId}` }]);
      if (terminalStates.has(found.record.state)) return outcomeOf(found.record, clock.now());
      return drive(found, { type: 'ABORT', reason }).outcome;
    },

    async get(taskId) {
      return (await readRecord(taskId))?.record;
    },

    async take(taskId) {
      assertOpen();
      if (drivers.has(taskId)) return undefined;
      const found = await readRecord(taskId);
      if (!found || RESTING.has(found.record.state)) return undefined;
      return drive(found);
    },

    stopTask(taskId) {
      const driver = drivers.get(taskId);
      if (driver) driver.abandoned = true;
      stoppers.get(taskId)?.();
    },

    active() {
      return [...drivers.keys()];
    },

    async list() {
      const entries = await store.list(TASKS_PREFIX);
      return entries.map((entry) => TaskRecordSchema.parse(entry.value)).sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
    },

    onEvent(handler) {
      return bus.subscribe(subject({ kind: 'events.all' }), (message) => {
        if ('taskId' in message && (message.type.startsWith('task.') || message.type.startsWith('role.') || message.type.startsWith('gate.') || message.type.startsWith('step.'))) {
          handler(message as TaskEvent);
        }
      });
    },

    async idle() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
      await bus.flush();
    },

    async close() {
      if (closed) return;
      closed = true;
      for (const stop of stoppers.values()) stop();
      await Promise.allSettled([...pending]);
      await bus.flush();
      logEvents?.unsubscribe();
      historyBinding.unsubscribe();
      metricsBinding?.unsubscribe();
    },
  };
}

function recordFrom(previous: TaskRecord, context: SupervisorContext, state: TaskState, snapshot: unknown, now: number): TaskRecord {
  const step = context.plan?.steps[context.stepIndex];
  const terminal = terminalStates.has(state);
  return {
    ...previous,
    state,
    stepId: context.planApproved ? step?.id : undefined,
    stepIndex: context.planApproved ? context.stepIndex : undefined,
    stepCount: context.plan?.steps.length,
    attempt: context.planApproved ? context.attempt : context.planCalls,
    waiting: state === 'AWAITING_HUMAN_REVIEW' ? context.waiting : undefined,
    pausedUntil: state === 'PAUSED' ? context.pause?.until : undefined,
    failure: state === 'FAILED' || state === 'ABORTED' ? context.failure : undefined,
    branch: context.branch,
    worktreePath: context.worktreePath,
    commits: [...context.commits],
    plan: context.plan,
    costUsd: context.costUsd,
    estimatedCostUsd: context.estimatedCostUsd,
    updatedAt: now,
    finishedAt: terminal ? (previous.finishedAt ?? now) : undefined,
    // A finished task never runs again: its record keeps the facts, not the machine.
    snapshot: terminal ? undefined : snapshot,
  };
}

function outcomeOf(record: TaskRecord, now: number): TaskOutcome {
  return {
    id: record.id,
    state: record.state,
    branch: record.branch,
    commits: record.commits,
    costUsd: record.costUsd,
    estimatedCostUsd: record.estimatedCostUsd ?? 0,
    durationMs: (record.finishedAt ?? now) - record.createdAt,
    reason: record.state === 'AWAITING_HUMAN_REVIEW' ? record.waiting?.reason : record.failure,
  };
}

function logEvent(logger: Logger, event: TaskEvent): void {
  const base = { task: event.taskId, ...('stepId' in event && event.stepId ? { step: event.stepId } : {}) };
  switch (event.type) {
    case 'task.state':
      logger.info({ ...base, state: event.state, previous: event.previous, attempt: event.attempt, reason: event.reason }, `task ${event.state}`);
      return;
    case 'role.started':
      logger.info({ ...base, role: event.role, model: event.model, provider: event.provider, runner: event.runner, attempt: event.attempt }, `${event.role} started`);
      return;
    case 'role.finished': {
      const fields = { ...base, role: event.role, model: event.model, runner: event.runner, attempt: event.attempt, tries: event.tries, verdict: event.verdict, error_kind: event.error_kind, tokens_input: event.tokens_input, tokens_output: event.tokens_output, cost_usd: event.cost_usd, latency_ms: event.latency_ms };
      if (event.success) logger.info(fields, `${event.role} answered`);
      else logger.warn({ ...fields, error: event.error }, `${event.role} failed`);
      return;
    }
    case 'gate.finished':
      logger.info({ ...base, passed: event.passed, summary: event.summary, duration_ms: event.duration_ms }, `quality gate ${event.passed ? 'passed' : 'failed'}`);
      return;
    case 'step.committed':
      logger.info({ ...base, sha: event.sha, branch: event.branch }, 'step committed');
      return;
    case 'task.finished':
      logger.info({ ...base, state: event.state, branch: event.branch, cost_usd: event.cost_usd, duration_ms: event.duration_ms }, `task finished ${event.state}`);
      return;
  }
}

