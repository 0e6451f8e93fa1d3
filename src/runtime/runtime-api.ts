import type { InspectionEvent } from 'xstate';
import type { AgentRunner } from '../runners/agent-runner.js';
import type { Bus, Subscription } from '../bus/bus.js';
import type { ReviewDecision, TaskEvent } from '../model/task-events.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../platform/clock.js';
import type { Limits } from '../model/limits.js';
import type { Standards } from '../roles/standards.js';
import type { RoutingConfig } from '../routing/routing-options.js';
import type { QualityGate } from '../model/gate-report.js';
import type { Routing } from '../routing/routing.js';
import type { ResolvedTask } from '../tasks/resolve-repos.js';
import type { Logger } from '../telemetry/logger.js';
import type { Workspace } from '../workspace/workspace.js';
import type { RoleExecutor } from '../roles/role-executor.js';
import type { TaskOutcome, TaskOwnership } from './task-outcome.js';
import type { TaskRecord } from '../model/task-record.js';

/** What the runtime offers its hosts (CLI, services, watcher) and what it is built from. */

/** What the engine reads of the config (the config floor composes it; the runtime never sees the file). */
export type RuntimeConfig = RoutingConfig & { readonly concurrency: number; readonly limits: Limits; readonly standards?: Standards | undefined };

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
  /**
   * For a lifecycle event this runtime projects (task.state, step.committed, task.finished): whether
   * it published it, within the last minute. Its hosts count and trace exactly what they drove, even
   * when a lease ran out while the task was finishing. Undefined for other events (role calls, gates).
   */
  publishedHere(event: TaskEvent): boolean | undefined;
  /** Resolves when no task is running or queued. */
  idle(): Promise<void>;
  /** Stops driving tasks; their persisted state stays, so a later `resume` continues them. */
  close(): Promise<void>;
}
