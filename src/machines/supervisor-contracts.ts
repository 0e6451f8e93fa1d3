import type { ErrorKind, ModelRef } from '../agents/runners/agent-runner.js';
import type { CodeReview, ImplementationReport, Plan, PlanReview, PlanStep } from '../agents/schemas.js';
import type { ReviewDecision } from '../bus/messages.js';
import type { GateReport } from '../gate/report.js';
import type { TaskSpec } from '../tasks/schema.js';

/**
 * The contracts between the supervisor machine and its actors. Inputs and outputs are plain JSON
 * because they are persisted in the machine's snapshot: a restored snapshot re-invokes an
 * in-flight actor with the same input.
 */

/** A runner's failure, or `budget`: the call was not made because it would exceed a budget. */
export type RoleFailureKind = ErrorKind | 'budget';

/** What a role actor hands back: failures are values, never thrown. */
export type RoleResult<T> =
  | {
      readonly ok: true;
      readonly value: T;
      readonly model: ModelRef;
      readonly costUsd: number;
      /** The part of `costUsd` priced from estimated token counts (a runner that reports none). */
      readonly estimatedUsd?: number | undefined;
    }
  | {
      readonly ok: false;
      readonly kind: RoleFailureKind;
      readonly error: string;
      readonly retryAfterMs?: number | undefined;
      /** Clock time when a rate-limited call may be retried (the actor reads the injected clock). */
      readonly retryAt?: number | undefined;
      /** The model that failed, or (for `budget`) the one that would have been called. */
      readonly model: ModelRef;
      readonly costUsd: number;
      readonly estimatedUsd?: number | undefined;
    };

/** USD a person added to the task's budgets (`tandem review --raise-budget`); every role call gets it. */
interface BudgetGrant {
  readonly budgetGrantUsd?: number | undefined;
}

export interface PrepareInput {
  readonly taskId: string;
  readonly repo: string;
  readonly baseCommit: string;
}
export interface PrepareOutput {
  readonly worktreePath: string;
  readonly branch: string;
}

export interface PlanInput extends BudgetGrant {
  readonly task: TaskSpec;
  readonly worktreePath: string;
  /** Review round, 1-based: round N answers the review of round N-1. */
  readonly round: number;
  /** Ordinal of this planner call in the task, 1-based (the runner's `attempt`). */
  readonly call: number;
  readonly feedback?: string | undefined;
}

export interface PlanReviewInput extends BudgetGrant {
  readonly task: TaskSpec;
  readonly worktreePath: string;
  readonly plan: Plan;
  readonly call: number;
  readonly authorModel?: string | undefined;
}

export interface StepInput extends BudgetGrant {
  readonly task: TaskSpec;
  readonly worktreePath: string;
  readonly plan: Plan;
  readonly step: PlanStep;
  readonly attempt: number;
}

export interface ImplementInput extends StepInput {
  readonly feedback?: string | undefined;
}

export interface DiffSummary {
  /** Hash of the patch: the same diff twice in a row means no progress. */
  readonly fingerprint: string;
  readonly files: readonly string[];
  readonly insertions: number;
  readonly deletions: number;
  /** The patch, clipped for the snapshot; the reviewer reads the full diff from the worktree. */
  readonly patch: string;
}

export interface Implementation {
  readonly report: ImplementationReport;
  readonly diff: DiffSummary;
}

export interface CodeReviewInput extends StepInput {
  readonly implementation: Implementation;
  readonly authorModel?: string | undefined;
}

export interface GateInput {
  readonly taskId: string;
  readonly stepId: string;
  readonly attempt: number;
  readonly worktreePath: string;
  readonly baseCommit: string;
}

export interface CommitInput {
  readonly taskId: string;
  /** The task's base: the idempotent commit looks for this step's commit only since it. */
  readonly baseCommit?: string | undefined;
  readonly worktreePath: string;
  readonly step: PlanStep;
  readonly attempt: number;
  /** Skip: discard the step's changes instead of committing them. */
  readonly skip: boolean;
  readonly trailers: Readonly<Record<string, string>>;
}
export interface CommitOutput {
  readonly sha?: string | undefined;
}

export interface WaitInput {
  readonly until: number;
}

export type { CodeReview, GateReport, Plan, PlanReview, ReviewDecision };

export const EscalationKind = {
  planRejected: 'plan_rejected',
  planRoundsExhausted: 'plan_rounds_exhausted',
  roleFailed: 'role_failed',
  attemptsExhausted: 'attempts_exhausted',
  noProgress: 'no_progress',
  timeLimit: 'time_limit',
  budget: 'budget',
  rateLimit: 'rate_limit',
  internalError: 'internal_error',
  person: 'person',
} as const;
export type EscalationKind = (typeof EscalationKind)[keyof typeof EscalationKind];
