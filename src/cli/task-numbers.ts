import type { TaskRecord } from '../model/task-record.js';
import type { TaskStatus } from '../model/task-status.js';
import type { LedgerEntry } from '../routing/cost-ledger.js';

/** States in which a task is not being worked on: it waits for a person or for a rate limit to reset. */
const waitingStates = new Set(['AWAITING_HUMAN_REVIEW', 'PAUSED']);
/** States in which the attempt under way is the record's own (a step or the plan is open). */
const workingStates = new Set(['PLANNING', 'PLAN_REVIEW', 'IMPLEMENTING', 'CODE_REVIEW', 'QUALITY_GATE', 'AWAITING_HUMAN_REVIEW', 'PAUSED']);

/**
 * The one derivation of a task's numbers (attempts, model calls, active and waiting time, cost) that
 * progress, status, review and the run's summary all show: from the stored record, which every
 * process keeps current, and the cost ledger, which every call of every process is written to.
 */
export function taskStatus(record: TaskRecord, ledger: readonly LedgerEntry[], now: number): TaskStatus {
  const calls = ledger.filter((e) => e.task_id === record.id);
  const stepAttempts: Record<string, number> = {};
  for (const call of calls) {
    if (call.role !== 'implementer' || call.step_id === undefined) continue;
    stepAttempts[call.step_id] = Math.max(stepAttempts[call.step_id] ?? 0, call.attempt);
  }
  const planRounds = calls.filter((c) => c.role === 'planner').reduce((max, c) => Math.max(max, c.attempt), 0);
  const lastStep = record.commits.at(-1)?.stepId;
  const attempt = workingStates.has(record.state) ? record.attempt : lastStep !== undefined ? (stepAttempts[lastStep] ?? record.attempt) : record.attempt;
  const waitingNow = waitingStates.has(record.state);
  const end = record.finishedAt ?? now;
  const waitingMs = waitingNow ? Math.max(0, now - record.updatedAt) : 0;
  return {
    id: record.id,
    state: record.state,
    step: record.stepId === undefined ? null : { id: record.stepId, index: record.stepIndex ?? 0, count: record.stepCount ?? 0 },
    steps_done: record.commits.length,
    steps_total: record.stepCount ?? null,
    attempt,
    plan_rounds: planRounds,
    step_attempts: stepAttempts,
    model_calls: calls.length,
    cost_usd: record.costUsd,
    cost_estimated_usd: record.estimatedCostUsd ?? 0,
    active_ms: Math.max(0, end - record.createdAt - waitingMs),
    waiting_ms: waitingMs,
    waiting: record.waiting ?? null,
    paused_until: record.pausedUntil ?? null,
    failure: record.failure ?? null,
    branch: record.state === 'ABORTED' ? null : (record.branch ?? null),
    commits: record.commits,
    findings: record.findings ?? [],
    validation: record.validation ?? null,
    repo: record.repo,
    created_at: record.createdAt,
    updated_at: record.updatedAt,
    finished_at: record.finishedAt ?? null,
  };
}

/** Tasks in the order they were submitted (the same for the file store and NATS). */
export function bySubmission<T extends { readonly createdAt: number; readonly id: string }>(records: readonly T[]): T[] {
  return [...records].sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
}
