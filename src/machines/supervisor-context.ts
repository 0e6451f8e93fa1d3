import type { ModelRef } from '../model/execution.js';
import type { Plan, PlanStep, StepFindings, ValidationVerdict } from '../model/role-outputs.js';
import type { ReviewDecision } from '../model/task-events.js';
import type { GateReport } from '../model/gate-report.js';
import type { TaskSpec } from '../model/task-spec.js';
import { EscalationKind, type Implementation, type RoleResult } from '../model/role-contracts.js';

/**
 * The supervisor's data: what it was started with, what it learned (plan, commits, cost) and the
 * counters its guards read. Plain JSON, because it is persisted in the machine's snapshot.
 */

export interface SupervisorLimits {
  readonly maxAttempts: number;
  readonly maxPlanRounds: number;
  /** Longest rate-limit pause honoured; a longer reset asks a person instead. */
  readonly maxPauseMs: number;
  /** The validator's settings; absent, a task ends DONE after its last step (and so do snapshots made before the validator). */
  readonly validation?: ValidationLimits | undefined;
}

interface ValidationLimits {
  /** A verdict less sure than this waits for a person. */
  readonly minConfidence: number;
  /** Failed validations sent back to the implementer before a person is asked. */
  readonly maxRounds: number;
}

export interface SupervisorInput {
  readonly task: TaskSpec;
  readonly repo: string;
  readonly baseCommit: string;
  readonly startedAt: number;
  readonly limits: SupervisorLimits;
}

/** The public names of the states a pause or a budget stop resumes (recorded for people; the chart resumes through its history state). */
export type ResumableState = 'PLANNING' | 'PLAN_REVIEW' | 'IMPLEMENTING' | 'CODE_REVIEW' | 'VALIDATING';
export type Stage = 'plan' | 'step' | 'validate';

export interface WaitingReason {
  readonly stage: Stage;
  readonly kind: EscalationKind;
  readonly reason: string;
  /** Where a budget stop continues once a person raises the budget. */
  readonly resume?: ResumableState | undefined;
}

export interface SupervisorContext {
  readonly task: TaskSpec;
  readonly repo: string;
  readonly baseCommit: string;
  readonly startedAt: number;
  readonly limits: SupervisorLimits;
  /**
   * Actors invoked so far, counted when each starts. Persisted with the snapshot, so a restored
   * supervisor sees the same number for the call it re-sends: with the task id it is the call's
   * idempotency key (`<task>.<invocation>.<work>`).
   */
  readonly invocations: number;
  readonly worktreePath?: string | undefined;
  readonly branch?: string | undefined;
  readonly plan?: Plan | undefined;
  /** Plan version: 1 for the first plan, +1 for each revision. */
  readonly planRound: number;
  /** Revisions asked by the plan reviewer since the last person's decision. */
  readonly planRevisions: number;
  readonly planCalls: number;
  readonly planReviewCalls: number;
  /** Failed planner/plan-reviewer calls since the last person's decision. */
  readonly planFailures: number;
  readonly planFeedback?: string | undefined;
  readonly plannerModel?: string | undefined;
  /** Set once the plan is approved (by the reviewer or a person): escalations then concern a step. */
  readonly planApproved: boolean;
  readonly stepIndex: number;
  /** Attempt at the current step, 1-based and monotonic (the runner's `attempt`). */
  readonly attempt: number;
  /** Failed attempts at the current step since the last person's decision. */
  readonly stepFailures: number;
  readonly feedback?: string | undefined;
  readonly implementation?: Implementation | undefined;
  readonly implementerModel?: string | undefined;
  readonly reviewerModel?: string | undefined;
  readonly lastDiffFingerprint?: string | undefined;
  readonly lastFailure?: string | undefined;
  readonly lastGate?: string | undefined;
  readonly commits: readonly { readonly stepId: string; readonly sha: string }[];
  /** Findings of the report steps done so far (absent in snapshots older than report steps). */
  readonly findings?: readonly StepFindings[] | undefined;
  /** True while the validator checks the finished branch (the stage a person decides on then). */
  readonly validating?: boolean | undefined;
  /** Validator calls so far, 1-based once the first starts (the runner's `attempt`). */
  readonly validationCalls?: number | undefined;
  /** Failed validations sent back to the implementer since the last person's decision. */
  readonly validationRounds?: number | undefined;
  /** Failed validator calls (no verdict) since the last person's decision. */
  readonly validationFailures?: number | undefined;
  readonly validation?: ValidationVerdict | undefined;
  readonly skipStep: boolean;
  readonly approvedByPerson: boolean;
  readonly waiting?: WaitingReason | undefined;
  readonly pause?: { readonly until: number; readonly resume: ResumableState; readonly reason: string } | undefined;
  readonly failure?: string | undefined;
  readonly costUsd: number;
  /** The part of `costUsd` priced from estimated token counts. */
  readonly estimatedCostUsd?: number | undefined;
  /** USD people added to the task's budgets. */
  readonly budgetGrantUsd?: number | undefined;
}

export type SupervisorEvent =
  | { readonly type: 'REVIEW'; readonly decision: ReviewDecision }
  | { readonly type: 'ABORT'; readonly reason?: string | undefined }
  | { readonly type: 'ESCALATE'; readonly kind: EscalationKind; readonly reason: string };

export function initialContext(input: SupervisorInput): SupervisorContext {
  return {
    task: input.task,
    repo: input.repo,
    baseCommit: input.baseCommit,
    startedAt: input.startedAt,
    limits: input.limits,
    invocations: 0,
    planRound: 1,
    planRevisions: 0,
    planCalls: 0,
    planReviewCalls: 0,
    planFailures: 0,
    planApproved: false,
    stepIndex: 0,
    attempt: 1,
    stepFailures: 0,
    commits: [],
    skipStep: false,
    approvedByPerson: false,
    costUsd: 0,
    estimatedCostUsd: 0,
  };
}

/** The step being worked on; undefined only for a plan without that step, which the chart never enters (see `hasCurrentStep`). */
export function currentStep(context: SupervisorContext): PlanStep | undefined {
  return context.plan?.steps[context.stepIndex];
}

export function stageOf(context: SupervisorContext): Stage {
  if (context.validating === true) return 'validate';
  return context.planApproved ? 'step' : 'plan';
}

export function stageOfState(state: ResumableState): Stage {
  if (state === 'VALIDATING') return 'validate';
  return state === 'PLANNING' || state === 'PLAN_REVIEW' ? 'plan' : 'step';
}

export function modelName(model: ModelRef): string {
  return `${model.provider}/${model.model}`;
}

export function failureText(result: RoleResult<unknown>): string {
  return result.ok ? '' : `${result.kind}: ${result.error}`;
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Two failures are "the same" when the same checks fail with the same output: no progress. */
export function gateFingerprint(report: GateReport): string {
  return report.checks
    .filter((c) => !c.passed)
    .map((c) => `${c.name}:${c.excerpt}`)
    .join('\n');
}

/** Adds a role call's cost to the task's, keeping apart the part priced from estimated tokens. */
export function spend(context: SupervisorContext, output: { readonly costUsd: number; readonly estimatedUsd?: number | undefined }) {
  return { costUsd: addUsd(context.costUsd, output.costUsd), estimatedCostUsd: addUsd(context.estimatedCostUsd ?? 0, output.estimatedUsd ?? 0) };
}

/** Sums in whole nano-dollars, as the cost ledger does, so a task's cost equals the sum of its ledger entries however many calls it made. */
function addUsd(a: number, b: number): number {
  return Math.round((a + b) * 1e9) / 1e9;
}

/** The counters of a step that starts from scratch. */
export function freshStep(stepIndex: number) {
  return {
    stepIndex,
    attempt: 1,
    stepFailures: 0,
    feedback: undefined,
    implementation: undefined,
    lastDiffFingerprint: undefined,
    lastFailure: undefined,
    skipStep: false,
    approvedByPerson: false,
  };
}

export function nextAttempt(context: SupervisorContext, feedback: string) {
  return { attempt: context.attempt + 1, stepFailures: context.stepFailures + 1, feedback };
}

export function appendCommit(context: SupervisorContext, sha: string | undefined) {
  const step = currentStep(context);
  return sha && step ? [...context.commits, { stepId: step.id, sha }] : context.commits;
}

export function internalError(context: SupervisorContext, error: unknown): WaitingReason {
  return { stage: stageOf(context), kind: EscalationKind.internalError, reason: `internal error: ${errorText(error)}` };
}
