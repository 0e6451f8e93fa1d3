import type { TaskState } from '../model/task-events.js';
import type { TaskRecord } from '../model/task-record.js';

/** How a driven task ended (or where it rests), as `TaskHandle.outcome` reports it. */
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
  /** Dependencies that keep this task from starting (it stays NEW; `reason` says why). */
  readonly blockedBy?: readonly string[] | undefined;
}

export interface TaskOwnership {
  claim(taskId: string): Promise<boolean>;
  release(taskId: string): Promise<void>;
}

/** States where a driver stops: the task is finished or waits for a person. */

export function outcomeOf(record: TaskRecord, now: number): TaskOutcome {
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
