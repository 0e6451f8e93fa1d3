import {
  failedImplementationFeedback,
  failedPlanFeedback,
  gateFeedback,
  joinFeedback,
  personPlanFeedback,
  personStepFeedback,
  planReviewFeedback,
  reviewFeedback,
  validationFeedback,
} from '../roles/prompts/feedback.js';
import {
  appendCommit,
  currentStep,
  errorText,
  failureText,
  freshStep,
  gateFingerprint,
  internalError,
  modelName,
  nextAttempt,
  spend,
  stageOf,
  stageOfState,
  type SupervisorContext,
  type SupervisorEvent,
} from './supervisor-context.js';
import { EscalationKind, type Implementation, type PrepareOutput } from '../model/role-contracts.js';
import { type CodeReview, type Plan, type PlanReview, type Validation, type ValidationVerdict } from '../model/role-outputs.js';
import { failuresAt, type GateParams, type Output, type StopParams } from './supervisor-guards.js';
import { gateEscalation } from '../model/gate-report.js';

/**
 * What each named action of the supervisor changes in its context, as pure functions
 * (`supervisor-setup.ts` wraps each in `assign`). Keeping them apart from the chart keeps the chart
 * a drawing and lets each change be read (and tested) on its own.
 */

type Update = Partial<SupervisorContext>;
type C = SupervisorContext;

/** Which role failed, for the reason a person reads. */
export interface RoleFailureParams extends Output<unknown> {
  readonly role: 'planner' | 'plan reviewer' | 'implementer' | 'code reviewer' | 'validator';
}

const value = <T>(params: Output<T>): T | undefined => (params.output.ok ? params.output.value : undefined);

/** The validator's answer, kept with the model that gave it; the previous verdict when the call failed. */
function verdict(c: C, p: Output<Validation>): ValidationVerdict | undefined {
  const v = value(p);
  return v ? { ...v, model: modelName(p.output.model), call: c.validationCalls ?? 1 } : c.validation;
}

function issuesText(v: Validation | undefined): string {
  return v && v.issues.length > 0 ? v.issues.join('; ') : 'no issue named';
}

export const supervisorUpdates = {
  countInvocation: (c: C): Update => ({ invocations: c.invocations + 1 }),
  countPlanCall: (c: C): Update => ({ planCalls: c.planCalls + 1 }),
  countPlanReviewCall: (c: C): Update => ({ planReviewCalls: c.planReviewCalls + 1 }),
  keepWorkspace: (_: C, p: { readonly output: PrepareOutput }): Update => ({ worktreePath: p.output.worktreePath, branch: p.output.branch }),
  failPreparing: (_: C, p: { readonly error: unknown }): Update => ({ failure: `cannot prepare the workspace: ${errorText(p.error)}` }),

  acceptPlan: (c: C, p: Output<Plan>): Update => ({ plan: value(p) ?? c.plan, plannerModel: modelName(p.output.model), ...spend(c, p.output) }),
  retryPlanning: (c: C, p: Output<unknown>): Update => ({
    planFailures: c.planFailures + 1,
    ...spend(c, p.output),
    planFeedback: joinFeedback(c.planFeedback, failedPlanFeedback(failureText(p.output))),
  }),
  approvePlanReview: (c: C, p: Output<PlanReview>): Update => ({ ...spend(c, p.output), planFeedback: undefined }),
  revisePlan: (c: C, p: Output<PlanReview>): Update => {
    const review = value(p);
    return {
      ...spend(c, p.output),
      planRound: c.planRound + 1,
      planRevisions: c.planRevisions + 1,
      planFeedback: review ? planReviewFeedback(review) : undefined,
    };
  },
  escalatePlanReview: (c: C, p: Output<PlanReview>): Update => {
    const review = value(p);
    const rejected = review?.status === 'rejected';
    const feedback = review ? planReviewFeedback(review) : undefined;
    return {
      ...spend(c, p.output),
      planFeedback: feedback,
      waiting: {
        stage: 'plan',
        kind: rejected ? EscalationKind.planRejected : EscalationKind.planRoundsExhausted,
        reason: rejected
          ? `the plan reviewer rejected the plan: ${feedback ?? ''}`
          : `the plan still needs revision after ${c.planRevisions + 1} rounds of review`,
      },
    };
  },
  retryPlanReview: (c: C, p: Output<unknown>): Update => ({ planFailures: c.planFailures + 1, ...spend(c, p.output) }),
  /** Entering PLANNED: the plan is approved and its first step starts from scratch. */
  startPlan: (): Update => ({ ...freshStep(0), planFailures: 0, planApproved: true }),
  failEmptyPlan: (): Update => ({ failure: 'the approved plan has no steps' }),

  escalateSameDiff: (c: C, p: Output<Implementation>): Update => ({
    ...spend(c, p.output),
    implementation: value(p) ?? c.implementation,
    waiting: { stage: 'step', kind: EscalationKind.noProgress, reason: 'the implementer produced the same diff twice in a row' },
  }),
  /** A report step's findings are its result: kept (replacing an earlier answer of the same step), then the step completes. */
  acceptReport: (c: C, p: Output<Implementation>): Update => {
    const report = value(p)?.findings;
    const step = currentStep(c);
    const kept = (c.findings ?? []).filter((f) => f.stepId !== step?.id);
    return {
      ...spend(c, p.output),
      implementation: value(p) ?? c.implementation,
      implementerModel: modelName(p.output.model),
      findings: report && step ? [...kept, { stepId: step.id, report }] : c.findings,
      lastGate: 'report step: no diff to gate',
    };
  },
  acceptImplementation: (c: C, p: Output<Implementation>): Update => ({
    ...spend(c, p.output),
    implementation: value(p) ?? c.implementation,
    implementerModel: modelName(p.output.model),
    lastDiffFingerprint: value(p)?.diff.fingerprint,
  }),
  retryImplementing: (c: C, p: Output<unknown>): Update => ({ ...spend(c, p.output), ...nextAttempt(c, failedImplementationFeedback(failureText(p.output))) }),
  acceptCodeReview: (c: C, p: Output<CodeReview>): Update => ({ ...spend(c, p.output), reviewerModel: modelName(p.output.model) }),
  requestChanges: (c: C, p: Output<CodeReview>): Update => {
    const review = value(p);
    return { ...spend(c, p.output), ...nextAttempt(c, review ? reviewFeedback(review) : '') };
  },
  escalateCodeReview: (c: C, p: Output<CodeReview>): Update => {
    const review = value(p);
    const feedback = review ? reviewFeedback(review) : '';
    return {
      ...spend(c, p.output),
      feedback: review ? feedback : c.feedback,
      waiting: {
        stage: 'step',
        kind: EscalationKind.attemptsExhausted,
        reason: `the code review did not approve after ${c.stepFailures + 1} attempts: ${feedback}`,
      },
    };
  },
  retryCodeReview: (c: C, p: Output<unknown>): Update => ({ ...spend(c, p.output), stepFailures: c.stepFailures + 1 }),
  escalateRoleFailure: (c: C, p: RoleFailureParams): Update => {
    const stage = stageOf(c);
    const failures = failuresAt(c, stage) + 1;
    return {
      ...spend(c, p.output),
      waiting: { stage, kind: EscalationKind.roleFailed, reason: `the ${p.role} failed ${failures} times; last: ${failureText(p.output)}` },
    };
  },

  passGate: (_: C, p: GateParams): Update => ({ lastGate: p.report.summary, skipStep: false, approvedByPerson: false }),
  escalateSameGateFailure: (_: C, p: GateParams): Update => ({
    lastGate: p.report.summary,
    feedback: gateFeedback(p.report),
    waiting: { stage: 'step', kind: EscalationKind.noProgress, reason: `the quality gate failed the same way twice in a row: ${p.report.summary}` },
  }),
  escalateGateVerdict: (_: C, p: GateParams): Update => ({
    lastGate: p.report.summary,
    feedback: gateFeedback(p.report),
    waiting: { stage: 'step', ...(gateEscalation(p.report) ?? { kind: EscalationKind.internalError, reason: p.report.summary }) },
  }),
  retryAfterGate: (c: C, p: GateParams): Update => ({
    lastGate: p.report.summary,
    ...nextAttempt(c, gateFeedback(p.report)),
    lastFailure: gateFingerprint(p.report),
  }),
  escalateGate: (c: C, p: GateParams): Update => ({
    lastGate: p.report.summary,
    feedback: gateFeedback(p.report),
    waiting: { stage: 'step', kind: EscalationKind.attemptsExhausted, reason: `the quality gate failed ${c.stepFailures + 1} times: ${p.report.summary}` },
  }),
  nextStep: (c: C, p: { readonly sha: string | undefined }): Update => ({ commits: appendCommit(c, p.sha), ...freshStep(c.stepIndex + 1) }),
  /**
   * The last step is committed and the validator checks the branch. The step's attempt counter
   * stays: a fix-up is the next attempt of the last step, so its commit never collides with one made.
   */
  startValidation: (c: C, p: { readonly sha: string | undefined }): Update => ({
    commits: appendCommit(c, p.sha),
    feedback: undefined,
    skipStep: false,
    approvedByPerson: false,
  }),
  /** Entering VALIDATING (also to retry a failed call): the stage a person would decide on, and the call's ordinal. */
  countValidationCall: (c: C): Update => ({ validating: true, validationCalls: (c.validationCalls ?? 0) + 1 }),
  passValidation: (c: C, p: Output<Validation>): Update => ({ ...spend(c, p.output), validation: verdict(c, p), validating: false }),
  /** A failed validation: the implementer gets the issues on a new attempt at the last step. */
  retryAfterValidation: (c: C, p: Output<Validation>): Update => ({
    ...spend(c, p.output),
    validation: verdict(c, p),
    validating: false,
    validationRounds: (c.validationRounds ?? 0) + 1,
    attempt: c.attempt + 1,
    stepFailures: 0,
    feedback: validationFeedback(value(p) ?? { pass: false, issues: [], confidence: 0, escalate: false }),
    implementation: undefined,
    lastDiffFingerprint: undefined,
    lastFailure: undefined,
  }),
  escalateValidation: (c: C, p: Output<Validation>): Update => {
    const v = value(p);
    const min = c.limits.validation?.minConfidence ?? 0;
    const said = v ? `${v.pass ? 'pass' : 'fail'} at confidence ${v.confidence}` : 'no verdict';
    const reason = v?.escalate
      ? `the validator asks for a person (${said}): ${issuesText(v)}`
      : `the validator is not sure enough (${said}, below ${min}): ${issuesText(v)}`;
    return { ...spend(c, p.output), validation: verdict(c, p), waiting: { stage: 'validate', kind: EscalationKind.validation, reason } };
  },
  escalateValidationRounds: (c: C, p: Output<Validation>): Update => ({
    ...spend(c, p.output),
    validation: verdict(c, p),
    waiting: {
      stage: 'validate',
      kind: EscalationKind.attemptsExhausted,
      reason: `the branch still fails validation after ${c.validationRounds ?? 0} fix-up${c.validationRounds === 1 ? '' : 's'}: ${issuesText(value(p))}`,
    },
  }),
  retryValidation: (c: C, p: Output<unknown>): Update => ({ ...spend(c, p.output), validationFailures: (c.validationFailures ?? 0) + 1 }),
  finishSteps: (c: C, p: { readonly sha: string | undefined }): Update => ({ commits: appendCommit(c, p.sha), ...freshStep(c.stepIndex) }),

  /** Stops that are not the model's fault and spend no attempt (DESIGN §3). */
  pause: (c: C, p: StopParams): Update => ({
    ...spend(c, p.output),
    pause: { until: p.output.ok ? 0 : (p.output.retryAt ?? 0), resume: p.state, reason: `rate limited by ${modelName(p.output.model)}` },
  }),
  escalateBudget: (c: C, p: StopParams): Update => ({
    ...spend(c, p.output),
    waiting: { stage: stageOfState(p.state), kind: EscalationKind.budget, reason: p.output.ok ? '' : p.output.error, resume: p.state },
  }),
  escalateRateLimit: (c: C, p: StopParams): Update => ({
    ...spend(c, p.output),
    waiting: {
      stage: stageOfState(p.state),
      kind: EscalationKind.rateLimit,
      reason: `rate limited by ${modelName(p.output.model)} for longer than the longest allowed pause`,
    },
  }),
  escalateInternalError: (c: C, p: { readonly error: unknown }): Update => ({ waiting: internalError(c, p.error) }),
  escalateTimeLimit: (c: C): Update => ({
    waiting: { stage: stageOf(c), kind: EscalationKind.timeLimit, reason: `the task ran longer than its limit of ${c.task.time_limit_minutes} minutes` },
  }),
  escalate: (c: C, e: SupervisorEvent): Update => (e.type === 'ESCALATE' ? { waiting: { stage: stageOf(c), kind: e.kind, reason: e.reason } } : {}),
  abort: (_: C, e: SupervisorEvent): Update => ({ failure: (e.type === 'ABORT' ? e.reason : undefined) ?? 'aborted' }),

  clearWaiting: (): Update => ({ waiting: undefined, pause: undefined }),
  approveByPerson: (): Update => ({ approvedByPerson: true, skipStep: false }),
  /** A person accepts the branch as it is, whatever the validator said. */
  approveValidationByPerson: (): Update => ({ validating: false, validationRounds: 0, validationFailures: 0 }),
  skipByPerson: (): Update => ({ skipStep: true }),
  replanByPerson: (c: C, e: SupervisorEvent): Update => ({
    planFailures: 0,
    planRevisions: 0,
    planRound: c.plan ? c.planRound + 1 : c.planRound,
    planFeedback: e.type === 'REVIEW' && e.decision.decision === 'feedback' ? personPlanFeedback(e.decision.text) : undefined,
  }),
  retryByPerson: (c: C, e: SupervisorEvent): Update => ({
    attempt: c.attempt + 1,
    stepFailures: 0,
    // Feedback on a validation is a fix-up of the last step; its counters start over with the person's decision.
    validating: false,
    validationRounds: 0,
    validationFailures: 0,
    lastDiffFingerprint: undefined,
    lastFailure: undefined,
    feedback: e.type === 'REVIEW' && e.decision.decision === 'feedback' ? personStepFeedback(e.decision.text) : undefined,
  }),
  raiseBudget: (c: C, e: SupervisorEvent): Update => ({
    budgetGrantUsd: (c.budgetGrantUsd ?? 0) + (e.type === 'REVIEW' && e.decision.decision === 'raise_budget' ? e.decision.usd : 0),
    waiting: undefined,
  }),
  abortByPerson: (): Update => ({ failure: 'aborted by a person' }),
};
