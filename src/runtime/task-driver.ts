import { createActor, type Actor, type InspectionEvent, type Snapshot } from 'xstate';
import type { TaskEvent } from '../model/task-events.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../platform/clock.js';
import { lifecycleState, type SupervisorSnapshot, type SupervisorMachine } from '../machines/supervisor.js';
import { type SupervisorEvent, type SupervisorInput, type SupervisorLimits } from '../machines/supervisor-context.js';
import { rearmTimeLimit } from '../machines/time-limit.js';
import type { Logger } from '../telemetry/logger.js';
import type { Workspace } from '../workspace/workspace.js';
import { createEventProjector } from './event-projector.js';
import { machineClock } from './machine-clock.js';
import { Persister } from './persister.js';
import type { Checkpoint } from '../roles/role-executor.js';
import { releaseTask, removeWorktree } from './task-cleanup.js';
import { outcomeOf, type TaskOutcome, type TaskOwnership } from './task-outcome.js';
import { restingStates } from '../model/task-events.js';
import type { TaskRecord } from '../model/task-record.js';

export interface DriverDeps {
  /** The supervisor machine with the runtime's actors provided. */
  readonly machine: SupervisorMachine;
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly workspace: Workspace;
  readonly limits: SupervisorLimits;
  readonly ownership?: TaskOwnership | undefined;
  readonly inspect?: ((event: InspectionEvent) => void) | undefined;
  readonly publish: (event: TaskEvent) => void;
  /** Called once the driver no longer drives its task (before its claim is released). */
  readonly forget: (taskId: string) => void;
}

/**
 * Drives one task's machine until it rests (DONE, FAILED, ABORTED or waiting for a person): creates
 * and starts the actor from the stored record, persists every snapshot before the effects it
 * starts, publishes what changed, and cleans up.
 */
export class TaskDriver {
  readonly id: string;
  readonly outcome: Promise<TaskOutcome>;
  /** Stopped because another supervisor owns the task now: its claim is not this driver's to release. */
  abandoned = false;
  private resolveOutcome!: (outcome: TaskOutcome) => void;
  private rejectOutcome!: (error: unknown) => void;
  private readonly queue: SupervisorEvent[] = [];
  private actor: Actor<SupervisorMachine> | undefined;
  private persister: Persister | undefined;
  private live = false;
  private rest: (() => void) | undefined;
  private actorError: Error | undefined;

  constructor(
    private readonly deps: DriverDeps,
    private start: { readonly record: TaskRecord; readonly revision: number },
    firstEvent?: SupervisorEvent,
  ) {
    this.id = start.record.id;
    this.outcome = new Promise<TaskOutcome>((resolve, reject) => {
      this.resolveOutcome = resolve;
      this.rejectOutcome = reject;
    });
    void this.outcome.catch(() => undefined);
    if (firstEvent) this.queue.push(firstEvent);
  }

  /** Sends an event to the machine, or queues it until the machine starts. */
  send(event: SupervisorEvent): void {
    if (this.live && this.actor) this.actor.send(event);
    else this.queue.push(event);
  }

  /** Stops a running driver where its task stands (its stored state stays, to be resumed). */
  stop(): void {
    this.rest?.();
  }

  /**
   * For an actor the machine just started: resolves once the snapshot that started it is stored,
   * with its invocation ordinal. Called synchronously from the actor's start, when the machine's
   * snapshot is already the one that invoked it; that snapshot's counter is the ordinal.
   */
  async checkpoint(): Promise<Checkpoint> {
    const { actor, persister } = this;
    if (!actor || !persister) return { invocation: 0 };
    const invocation = actor.getSnapshot().context.invocations;
    await persister.stored(invocation);
    return { invocation };
  }

  /** A task that has not started yet starts from this stored record instead (its dependencies' work as its base). */
  startFrom(start: { readonly record: TaskRecord; readonly revision: number }): void {
    this.start = start;
  }

  /** Settles the outcome of a task that never started: its dependencies keep it waiting, or it was stopped first. */
  settleUnstarted(blocked?: { readonly reason: string; readonly blockedBy: readonly string[] }): void {
    this.deps.forget(this.id);
    this.resolveOutcome({ ...outcomeOf(this.start.record, this.deps.clock.now()), ...blocked });
  }

  /** Rejects the outcome of a driver whose run failed. */
  fail(error: unknown): void {
    this.rejectOutcome(error);
  }

  async run(): Promise<void> {
    const { deps, id } = this;
    const { clock, logger } = deps;
    if (deps.ownership && !(await deps.ownership.claim(id))) {
      // Another supervisor drives it; this one leaves it alone.
      deps.forget(id);
      this.resolveOutcome(outcomeOf(this.start.record, clock.now()));
      return;
    }
    const record = this.start.record;
    const projector = createEventProjector();
    let rested!: () => void;
    const restedPromise = new Promise<void>((resolve) => (rested = resolve));
    const persister = new Persister({
      store: deps.store,
      start: this.start,
      now: () => clock.now(),
      onStored: (before, next, passed) => {
        for (const event of projector.project(before, next, passed)) deps.publish(event);
      },
      onError: (error) => {
        logger.error({ err: error, task: id }, 'could not persist the task; stopping it');
        rested();
      },
    });
    // The time limit counts from the task's start, or from a person's last decision (activeSince).
    const deadline = (record.activeSince ?? record.createdAt) + record.spec.time_limit_minutes * 60_000;
    const remaining = (): number => Math.max(0, deadline - clock.now());
    // The states of every microstep: a state the machine passes without resting (PLANNED) is
    // still announced, as the machine's own state.
    let passed: SupervisorSnapshot[] = [];
    const inspect = (event: InspectionEvent): void => {
      if (event.type === '@xstate.microstep') passed.push(event.snapshot as SupervisorSnapshot);
      deps.inspect?.(event);
    };
    const actor = createActor(deps.machine.provide({ delays: { timeLimit: remaining } }), {
      input: inputOf(record, deps.limits),
      clock: machineClock(clock),
      inspect,
      ...(record.snapshot ? { snapshot: record.snapshot as Snapshot<unknown> } : {}),
    });
    this.actor = actor;
    this.persister = persister;

    let started = false;
    let last: unknown;
    const persist = (): void => {
      const snapshot = actor.getSnapshot();
      const state = lifecycleState(snapshot);
      // A task restored in a resting state (a person's decision is about to be sent) is not done yet.
      if (started && restingStates.has(state)) rested();
      // start() reports the first snapshot and persist() below may see it again: write it once.
      const between = passed.map((p) => ({ state: lifecycleState(p), context: p.context }));
      passed = [];
      if (snapshot === last) return;
      last = snapshot;
      persister.persist({ state, context: snapshot.context, machine: actor.getPersistedSnapshot() }, between);
    };
    actor.subscribe({
      next: persist,
      error: (error) => {
        this.actorError = error instanceof Error ? error : new Error(String(error));
        rested();
      },
    });
    this.rest = () => rested();

    actor.start();
    if (record.snapshot) rearmTimeLimit(actor, remaining());
    this.live = true;
    for (const event of this.queue.splice(0)) actor.send(event);
    started = true;
    persist();
    await restedPromise;
    this.rest = undefined;
    actor.stop();
    await persister.settled();
    const failure = persister.error ?? this.actorError;
    const final = persister.current;
    // Announced as soon as the end is stored, while the lease is still held (the owner counts it) and
    // before the slow clean-up: whoever sees the record finished sees task.finished right after.
    const finished = failure ? undefined : projector.finished(final, clock.now());
    if (finished) deps.publish(finished);
    deps.forget(id);
    await releaseTask(id, { ownership: deps.ownership, abandoned: this.abandoned, logger });
    if (failure) throw failure;
    await removeWorktree(final, deps.workspace, logger);
    this.resolveOutcome(outcomeOf(final, clock.now()));
  }
}

function inputOf(record: TaskRecord, limits: SupervisorLimits): SupervisorInput {
  return { task: record.spec, repo: record.repo, baseCommit: record.baseCommit, startedAt: record.createdAt, limits };
}
