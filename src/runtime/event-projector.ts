import { terminalStates, type TaskEvent, type TaskState } from '../model/task-events.js';
import type { TaskRecord } from '../model/task-record.js';

/**
 * Turns a task's stored records into its lifecycle events: a new state, each new commit, the end.
 * It reads only records (what every supervisor and watcher can read from the store), never a live
 * machine, so anything that follows the store can project the same events.
 */
export interface EventProjector {
  /**
   * The events that `next` adds to `before` (its predecessor in the store); `passed` are the
   * states the machine went through between them without resting (announced first, in order).
   */
  project(before: TaskRecord, next: TaskRecord, passed?: readonly TaskRecord[]): TaskEvent[];
  /** The `task.finished` event of a task that reached a terminal state; none otherwise. */
  finished(record: TaskRecord, now: number): TaskEvent | undefined;
}

/** One projector per driven task: each announces the state it starts in once, then every change. */
export function createEventProjector(): EventProjector {
  let announced: TaskState | undefined;
  return {
    project(before, next, passed = []) {
      const events: TaskEvent[] = [];
      for (const record of passed) {
        if (record.state === announced || record.state === next.state) continue;
        events.push(stateEvent(record, announced));
        announced = record.state;
      }
      const commits: TaskEvent[] = next.commits.slice(before.commits.length).map((commit) => ({
        type: 'step.committed',
        taskId: next.id,
        at: next.updatedAt,
        stepId: commit.stepId,
        sha: commit.sha,
        branch: next.branch ?? '',
      }));
      events.push(...commits);
      if (next.state !== announced) {
        events.push(stateEvent(next, announced));
        announced = next.state;
      }
      return events;
    },
    finished(record, now) {
      if (!terminalStates.has(record.state)) return undefined;
      return {
        type: 'task.finished',
        taskId: record.id,
        at: now,
        state: record.state,
        branch: record.branch,
        commits: record.commits.map((c) => c.sha),
        cost_usd: record.costUsd,
        cost_estimated_usd: record.estimatedCostUsd ?? 0,
        duration_ms: (record.finishedAt ?? now) - record.createdAt,
        reason: record.failure,
      };
    },
  };
}

function stateEvent(record: TaskRecord, previous: TaskState | undefined): TaskEvent {
  return {
    type: 'task.state',
    taskId: record.id,
    at: record.updatedAt,
    state: record.state,
    previous: previous === record.state ? undefined : previous,
    stepId: record.stepId,
    stepIndex: record.stepIndex,
    stepCount: record.stepCount,
    attempt: record.attempt,
    reason:
      record.state === 'AWAITING_HUMAN_REVIEW' ? record.waiting?.reason : record.state === 'FAILED' || record.state === 'ABORTED' ? record.failure : undefined,
  };
}
