import { terminalStates, type TaskState } from '../model/task-events.js';
import type { Store } from '../store/store.js';
import type { SupervisorContext } from '../machines/supervisor-context.js';
import { taskKey, type TaskRecord } from '../model/task-record.js';

/**
 * The ordered persistence chain of one task: every machine snapshot becomes the task record, written
 * strictly in order with the store's revision check, so the stored record never goes back in time
 * and another writer is noticed. An effect waits (`stored`) until the snapshot that started it is
 * written: persist before effects (DESIGN §3).
 */
export interface PersistedSnapshot {
  readonly state: TaskState;
  readonly context: SupervisorContext;
  /** XState's persisted snapshot: what a restarted supervisor resumes from. */
  readonly machine: unknown;
}

export interface PersisterOptions {
  readonly store: Store;
  readonly start: { readonly record: TaskRecord; readonly revision: number };
  readonly now: () => number;
  /** After each write, in order, with the record it replaced and the states passed on the way (not stored). */
  readonly onStored: (before: TaskRecord, next: TaskRecord, passed: readonly TaskRecord[]) => void;
  /** The first failed write; nothing is written after it. */
  readonly onError: (error: Error) => void;
}

export class Persister {
  private record: TaskRecord;
  private revision: number;
  private chain: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  private readonly waiters = new Set<{ readonly invocation: number; resolve(): void; reject(error: Error): void }>();

  constructor(private readonly options: PersisterOptions) {
    this.record = options.start.record;
    this.revision = options.start.revision;
  }

  /** The last record written (the start record until the first write). */
  get current(): TaskRecord {
    return this.record;
  }

  get error(): Error | undefined {
    return this.failure;
  }

  /**
   * Queues the write of a snapshot after every earlier one. `passed` are the states the machine
   * went through within the same step (e.g. PLANNED): announced, never stored, since no snapshot
   * rests in them.
   */
  persist(snapshot: PersistedSnapshot, passed: readonly Omit<PersistedSnapshot, 'machine'>[] = []): void {
    const now = this.options.now();
    const next = recordFrom(this.record, snapshot, now);
    const passedRecords = passed.map((p) => recordFrom(this.record, { ...p, machine: undefined }, now));
    this.chain = this.chain
      .then(async () => {
        if (this.failure) return;
        const before = this.record;
        const written = { ...next, invocations: snapshot.context.invocations };
        this.revision = await this.options.store.put(taskKey(written.id), written, { expectedRevision: this.revision });
        this.record = written;
        for (const waiter of [...this.waiters]) {
          if (waiter.invocation > snapshot.context.invocations) continue;
          this.waiters.delete(waiter);
          waiter.resolve();
        }
        this.options.onStored(before, written, passedRecords);
      })
      .catch((error: unknown) => {
        this.failure = error instanceof Error ? error : new Error(String(error));
        for (const waiter of this.waiters) waiter.reject(this.failure);
        this.waiters.clear();
        this.options.onError(this.failure);
      });
  }

  /**
   * Resolves once a record counting `invocation` actor invocations is stored: the snapshot that
   * started that invocation (or a later one). A restored task's record already counts it.
   */
  stored(invocation: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if ((this.record.invocations ?? 0) >= invocation) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.waiters.add({ invocation, resolve, reject }));
  }

  /** Resolves when every queued write is done (or failed). */
  settled(): Promise<void> {
    return this.chain;
  }
}

/** The task record of a snapshot: the facts people and other processes read, and the machine to resume. */
function recordFrom(previous: TaskRecord, snapshot: PersistedSnapshot, now: number): TaskRecord {
  const { state, context } = snapshot;
  // PLANNED approves the plan before its first step starts: the record names no step yet.
  const onStep = context.planApproved && state !== 'PLANNED';
  const step = context.plan?.steps[context.stepIndex];
  const terminal = terminalStates.has(state);
  return {
    ...previous,
    state,
    stepId: onStep ? step?.id : undefined,
    stepIndex: onStep ? context.stepIndex : undefined,
    stepCount: context.plan?.steps.length,
    attempt: context.planApproved ? context.attempt : context.planCalls,
    waiting: state === 'AWAITING_HUMAN_REVIEW' ? context.waiting : undefined,
    pausedUntil: state === 'PAUSED' ? context.pause?.until : undefined,
    failure: state === 'FAILED' || state === 'ABORTED' ? context.failure : undefined,
    branch: context.branch,
    worktreePath: context.worktreePath,
    commits: [...context.commits],
    plan: context.plan,
    ...(context.findings === undefined || context.findings.length === 0 ? {} : { findings: [...context.findings] }),
    ...(context.validation === undefined ? {} : { validation: { ...context.validation, issues: [...context.validation.issues] } }),
    costUsd: context.costUsd,
    estimatedCostUsd: context.estimatedCostUsd,
    updatedAt: now,
    finishedAt: terminal ? (previous.finishedAt ?? now) : undefined,
    // A finished task never runs again: its record keeps the facts, not the machine.
    snapshot: terminal ? undefined : snapshot.machine,
  };
}
