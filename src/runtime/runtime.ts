import { terminalStates, type TaskEvent } from '../model/task-events.js';
import { subject } from '../bus/subjects.js';
import { systemClock } from '../platform/clock.js';
import { InputError, StoreError, TandemError } from '../platform/errors.js';
import { supervisorMachine } from '../machines/supervisor.js';
import { type SupervisorEvent } from '../machines/supervisor-context.js';
import { silentLogger } from '../telemetry/logger.js';
import { bindHistory } from '../routing/history-recorder.js';
import { createRouting, runnerIssues } from '../routing/routing.js';
import { createRoleActors } from './role-actors.js';
import { Scheduler } from './scheduler.js';
import { plannedOverlaps } from './overlap-warning.js';
import { createDependencyGate } from './dependency-gate.js';
import { logEvent } from './log-events.js';
import { decisionProblem } from './review-decision.js';
import { TaskDriver, type DriverDeps } from './task-driver.js';
import { outcomeOf } from './task-outcome.js';
import { restingStates } from '../model/task-events.js';
import { TASKS_PREFIX, TaskRecordSchema, taskKey, type TaskRecord } from '../model/task-record.js';

import type { Runtime, RuntimeOptions, TaskHandle } from './runtime-api.js';

export function createRuntime(options: RuntimeOptions): Runtime {
  const { config, store, bus, gate, workspace } = options;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger();
  const scheduler = new Scheduler(config.concurrency);
  const drivers = new Map<string, TaskDriver>();
  const pending = new Set<Promise<unknown>>();
  let closed = false;

  const runnerProblems = runnerIssues(config, [...options.runners.keys()]);
  if (runnerProblems.length > 0) throw new InputError(runnerProblems);
  const routing = options.routing ?? createRouting({ config, store, clock, random: options.random, runnerAvailable: (name) => options.runners.has(name) });
  const historyBinding = bindHistory(bus, routing.history, { onError: (error) => logger.warn({ err: error }, 'could not record a step outcome') });

  const actors = createRoleActors({
    runners: options.runners,
    routing,
    logger,
    limits: config.limits,
    standards: config.standards,
    clock,
    bus,
    gate,
    workspace,
    random: options.random,
    // The driver knows which snapshot started the actor and when it is stored.
    checkpoint: (taskId) => drivers.get(taskId)?.checkpoint() ?? Promise.resolve({ invocation: 0 }),
    ...(options.executor ? { executor: options.executor } : {}),
  });
  const machine = supervisorMachine.provide({ actors });

  /** Once a task is planned: warn when a task running beside it on the same repository plans to change the same files. */
  async function warnOverlaps(taskId: string): Promise<void> {
    const task = await readRecord(taskId);
    if (!task) return;
    const others: TaskRecord[] = [];
    for (const id of drivers.keys()) {
      const other = id === taskId ? undefined : (await readRecord(id))?.record;
      if (other && !restingStates.has(other.state)) others.push(other);
    }
    for (const overlap of plannedOverlaps(task.record, others)) {
      logger.warn(
        { task: taskId, other: overlap.id, files: overlap.files },
        `tasks ${taskId} and ${overlap.id} run at once on ${task.record.repo} and both plan to change ${overlap.files.join(', ')}: their branches may conflict (\`depends_on\` runs one after the other)`,
      );
    }
  }

  /** The lifecycle events this runtime published lately, by identity, for `publishedHere`. */
  const publishedLately = new Map<string, number>();
  const identity = (event: TaskEvent): string => `${event.type}|${event.taskId}|${event.at}|${'state' in event ? event.state : ''}`;

  const publish = (event: TaskEvent): void => {
    const now = clock.now();
    publishedLately.set(identity(event), now);
    if (publishedLately.size > 10_000) for (const [key, at] of publishedLately) if (now - at > 60_000) publishedLately.delete(key);
    if (event.type === 'task.state' && event.state === 'PLANNED') void warnOverlaps(event.taskId).catch(() => undefined);
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

  const dependencyGate = createDependencyGate({
    bus,
    store,
    clock,
    logger,
    read: async (taskId) => (await readRecord(taskId))?.record,
    driver: (taskId) => drivers.get(taskId),
  });

  const driverDeps: DriverDeps = {
    machine,
    store,
    clock,
    logger,
    workspace,
    limits: {
      maxAttempts: config.limits.max_attempts,
      maxPlanRounds: config.limits.max_plan_rounds,
      maxPauseMs: config.limits.max_pause_ms,
      validation: config.limits.validate
        ? { minConfidence: config.limits.validation_min_confidence, maxRounds: config.limits.max_validation_rounds }
        : undefined,
    },
    ownership: options.ownership,
    inspect: options.inspect,
    publish,
    forget: (taskId) => drivers.delete(taskId),
  };

  /** Runs one task's machine until it rests (see TaskDriver); one driver per task at a time. */
  function drive(start: { record: TaskRecord; revision: number }, firstEvent?: SupervisorEvent): TaskHandle {
    const id = start.record.id;
    const existing = drivers.get(id);
    if (existing) {
      if (firstEvent) existing.send(firstEvent);
      return { id, outcome: existing.outcome };
    }
    const driver = new TaskDriver(driverDeps, start, firstEvent);
    drivers.set(id, driver);
    const dependsOn = start.record.spec.depends_on;
    // Only a task that has not started waits: one already under way had its dependencies DONE.
    const ready = dependsOn.length > 0 && start.record.state === 'NEW' && firstEvent === undefined ? dependencyGate.wait(start) : Promise.resolve(true);
    void track(
      ready
        .then((go) => (go ? scheduler.run(start.record.spec.priority, () => driver.run()) : undefined))
        .catch((error: unknown) => {
          drivers.delete(id);
          driver.fail(error);
        }),
    );
    return { id, outcome: driver.outcome };
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
        if (restingStates.has(record.state)) continue;
        handles.push(drive({ record, revision: entry.revision }));
      }
      return handles;
    },

    async decide(taskId, decision) {
      assertOpen();
      const active = drivers.get(taskId);
      const found = await readRecord(taskId);
      if (!found) throw new InputError([{ file: 'review', field: 'task', message: `no task with id ${taskId}` }]);
      const problem = decisionProblem(found.record, decision);
      if (problem) throw new InputError([{ file: 'review', ...problem }]);
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
      if (!found || restingStates.has(found.record.state)) return undefined;
      return drive(found);
    },

    stopTask(taskId) {
      dependencyGate.stop(taskId);
      const driver = drivers.get(taskId);
      if (!driver) return;
      driver.abandoned = true;
      driver.stop();
    },

    active() {
      return [...drivers.keys()];
    },

    publishedHere(event) {
      if (event.type !== 'task.state' && event.type !== 'step.committed' && event.type !== 'task.finished') return undefined;
      const at = publishedLately.get(identity(event));
      return at !== undefined && clock.now() - at <= 60_000;
    },

    async list() {
      const entries = await store.list(TASKS_PREFIX);
      return entries.map((entry) => TaskRecordSchema.parse(entry.value)).sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
    },

    onEvent(handler) {
      return bus.subscribe(subject({ kind: 'events.all' }), (message) => {
        if (
          'taskId' in message &&
          (message.type.startsWith('task.') || message.type.startsWith('role.') || message.type.startsWith('gate.') || message.type.startsWith('step.'))
        ) {
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
      dependencyGate.stopAll();
      for (const driver of drivers.values()) driver.stop();
      await Promise.allSettled([...pending]);
      await bus.flush();
      logEvents?.unsubscribe();
      historyBinding.unsubscribe();
    },
  };
}
