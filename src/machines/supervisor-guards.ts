import type { ReviewDecision } from '../model/task-events.js';
import { currentStep, gateFingerprint, type ResumableState, type Stage, type SupervisorContext, type SupervisorEvent } from './supervisor-context.js';
import { EscalationKind, type Implementation, type RoleResult } from '../model/role-contracts.js';
import { type CodeReview, type PlanReview, type Validation } from '../model/role-outputs.js';
import { type GateReport } from '../model/gate-report.js';
import { RATE_LIMIT_WAIT_MS } from '../model/limits.js';
import { gateEscalation } from '../model/gate-report.js';

/**
 * The supervisor's guards, each a pure function of the context, the event and its params. The
 * chart names them (`supervisor-setup.ts` registers them), so the chart reads as a drawing and
 * each condition is written once.
 */

interface Args {
  readonly context: SupervisorContext;
  readonly event: SupervisorEvent;
}

export interface Output<T> {
  readonly output: RoleResult<T>;
}
/** A role call's result and the public name of the state that made it (where a stop resumes). */
export interface StopParams {
  readonly output: RoleResult<unknown>;
  readonly state: ResumableState;
}
export interface GateParams {
  readonly report: GateReport;
}
export interface DecisionParams {
  readonly decision: ReviewDecision['decision'];
  /** The stage the task must wait on; any when absent. */
  readonly stage?: Stage | undefined;
}

export function failuresAt(context: SupervisorContext, stage: Stage): number {
  if (stage === 'validate') return context.validationFailures ?? 0;
  return stage === 'plan' ? context.planFailures : context.stepFailures;
}

export const supervisorGuards = {
  answered: (_: Args, params: Output<unknown>) => params.output.ok,
  reviewApproved: (_: Args, params: Output<PlanReview | CodeReview>) => params.output.ok && params.output.value.status === 'approved',
  revisionAllowed: ({ context }: Args, params: Output<PlanReview>) =>
    params.output.ok && params.output.value.status === 'needs_revision' && context.planRevisions + 1 < context.limits.maxPlanRounds,
  /** The step was a report step and its findings came back (it has no diff to review or gate). */
  reportAnswered: (_: Args, params: Output<Implementation>) => params.output.ok && params.output.value.findings !== undefined,
  sameDiff: ({ context }: Args, params: Output<Implementation>) => params.output.ok && params.output.value.diff.fingerprint === context.lastDiffFingerprint,
  /** A failure that spends an attempt leaves another one (the limit counts failures since the last person's decision). */
  attemptsLeft: ({ context }: Args, params: { readonly stage: Stage }) => failuresAt(context, params.stage) + 1 < context.limits.maxAttempts,
  changesWithAttemptsLeft: ({ context }: Args, params: Output<CodeReview>) => params.output.ok && context.stepFailures + 1 < context.limits.maxAttempts,
  gatePassed: (_: Args, params: GateParams) => params.report.passed,
  /** The gate's verdict is not the change's fault (an environment problem) or needs a person (a breaking change). */
  gateEscalates: (_: Args, params: GateParams) => gateEscalation(params.report) !== undefined,
  sameGateFailure: ({ context }: Args, params: GateParams) => gateFingerprint(params.report) === context.lastFailure,
  hasMoreSteps: ({ context }: Args) => context.plan !== undefined && context.stepIndex + 1 < context.plan.steps.length,
  /** The step states are only entered with a step to work on, so their input mappers never miss one. */
  hasCurrentStep: ({ context }: Args) => currentStep(context) !== undefined,
  /** The task's limits ask for a validator after the last step. */
  validationEnabled: ({ context }: Args) => context.limits.validation !== undefined,
  /** The validator asked for a person, or is less sure than the task's threshold: neither pass nor fail stands on its own. */
  validationUnsure: ({ context }: Args, params: Output<Validation>) =>
    params.output.ok && (params.output.value.escalate || params.output.value.confidence < (context.limits.validation?.minConfidence ?? 0)),
  validationPassed: (_: Args, params: Output<Validation>) => params.output.ok && params.output.value.pass,
  /** A failed validation goes back to the implementer while fix-up rounds are left. */
  validationRoundsLeft: ({ context }: Args, params: Output<Validation>) =>
    params.output.ok && (context.validationRounds ?? 0) < (context.limits.validation?.maxRounds ?? 0),
  budgetStopped: (_: Args, params: StopParams) => !params.output.ok && params.output.kind === 'budget',
  rateLimited: (_: Args, params: StopParams) => !params.output.ok && params.output.kind === 'rate_limit',
  pausable: ({ context }: Args, params: StopParams) =>
    !params.output.ok && params.output.kind === 'rate_limit' && (params.output.retryAfterMs ?? RATE_LIMIT_WAIT_MS) <= context.limits.maxPauseMs,
  /** A person's decision, on the stage the task waits on; a step decision needs the step. */
  decided: ({ context, event }: Args, params: DecisionParams) =>
    event.type === 'REVIEW' &&
    event.decision.decision === params.decision &&
    (params.stage === undefined || context.waiting?.stage === params.stage) &&
    (params.stage !== 'step' || currentStep(context) !== undefined),
  canApprovePlan: ({ context, event }: Args) =>
    event.type === 'REVIEW' && event.decision.decision === 'approve' && context.waiting?.stage === 'plan' && context.plan !== undefined,
  /** Stopped before the workspace existed (e.g. the time limit hit while preparing). */
  noWorkspace: ({ context }: Args) => context.worktreePath === undefined,
  canRaiseBudget: ({ context, event }: Args) =>
    event.type === 'REVIEW' && event.decision.decision === 'raise_budget' && context.waiting?.kind === EscalationKind.budget,
};
