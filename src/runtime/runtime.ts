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
    void track(
      scheduler
        .run(start.record.spec.priority, () => driver.run())
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
      const driver = drivers.get(taskId);
      if (!driver) return;
      driver.abandoned = true;
      driver.stop();
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
      for (const driver of drivers.values()) driver.stop();
      await Promise.allSettled([...pending]);
      await bus.flush();
      logEvents?.unsubscribe();
      historyBinding.unsubscribe();
    },
  };
}
