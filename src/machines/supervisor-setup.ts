import { assign, fromPromise, setup } from 'xstate';
import type { SupervisorContext, SupervisorEvent, SupervisorInput } from './supervisor-context.js';
import type { CodeReview, Plan, PlanReview, Validation } from '../model/role-outputs.js';
import type {
  CodeReviewInput,
  CommitInput,
  CommitOutput,
  GateInput,
  Implementation,
  ImplementInput,
  PlanInput,
  PlanReviewInput,
  PrepareInput,
  PrepareOutput,
  RoleResult,
  ValidateInput,
  WaitInput,
} from '../model/role-contracts.js';
import type { GateReport } from '../model/gate-report.js';
import { supervisorUpdates as u, type RoleFailureParams } from './supervisor-actions.js';
import { supervisorGuards, type GateParams, type Output, type StopParams } from './supervisor-guards.js';

/**
 * The supervisor's vocabulary: every actor, guard, action and delay the chart names. Effects are
 * placeholders that fail loudly: the runtime (or a test) provides each one with `.provide()`, so
 * the machine stays pure and any snapshot can be persisted and resumed.
 */

function notProvided<TOutput, TInput>(name: string) {
  return fromPromise<TOutput, TInput>(() => Promise.reject(new Error(`the ${name} actor was not provided to the supervisor machine`)));
}

type Sha = { readonly sha: string | undefined };
type Failure = { readonly error: unknown };

export const supervisorSetup = setup({
  types: {
    context: {} as SupervisorContext,
    events: {} as SupervisorEvent,
    input: {} as SupervisorInput,
  },
  actors: {
    prepare: notProvided<PrepareOutput, PrepareInput>('prepare'),
    plan: notProvided<RoleResult<Plan>, PlanInput>('plan'),
    reviewPlan: notProvided<RoleResult<PlanReview>, PlanReviewInput>('reviewPlan'),
    implement: notProvided<RoleResult<Implementation>, ImplementInput>('implement'),
    reviewCode: notProvided<RoleResult<CodeReview>, CodeReviewInput>('reviewCode'),
    validate: notProvided<RoleResult<Validation>, ValidateInput>('validate'),
    gate: notProvided<GateReport, GateInput>('gate'),
    commit: notProvided<CommitOutput, CommitInput>('commit'),
    wait: notProvided<void, WaitInput>('wait'),
  },
  guards: supervisorGuards,
  actions: {
    countInvocation: assign(({ context }) => u.countInvocation(context)),
    countPlanCall: assign(({ context }) => u.countPlanCall(context)),
    countPlanReviewCall: assign(({ context }) => u.countPlanReviewCall(context)),
    keepWorkspace: assign(({ context }, p: { readonly output: PrepareOutput }) => u.keepWorkspace(context, p)),
    failPreparing: assign(({ context }, p: Failure) => u.failPreparing(context, p)),
    acceptPlan: assign(({ context }, p: Output<Plan>) => u.acceptPlan(context, p)),
    retryPlanning: assign(({ context }, p: Output<unknown>) => u.retryPlanning(context, p)),
    approvePlanReview: assign(({ context }, p: Output<PlanReview>) => u.approvePlanReview(context, p)),
    revisePlan: assign(({ context }, p: Output<PlanReview>) => u.revisePlan(context, p)),
    escalatePlanReview: assign(({ context }, p: Output<PlanReview>) => u.escalatePlanReview(context, p)),
    retryPlanReview: assign(({ context }, p: Output<unknown>) => u.retryPlanReview(context, p)),
    startPlan: assign(() => u.startPlan()),
    failEmptyPlan: assign(() => u.failEmptyPlan()),
    escalateSameDiff: assign(({ context }, p: Output<Implementation>) => u.escalateSameDiff(context, p)),
    acceptReport: assign(({ context }, p: Output<Implementation>) => u.acceptReport(context, p)),
    acceptImplementation: assign(({ context }, p: Output<Implementation>) => u.acceptImplementation(context, p)),
    retryImplementing: assign(({ context }, p: Output<unknown>) => u.retryImplementing(context, p)),
    acceptCodeReview: assign(({ context }, p: Output<CodeReview>) => u.acceptCodeReview(context, p)),
    requestChanges: assign(({ context }, p: Output<CodeReview>) => u.requestChanges(context, p)),
    escalateCodeReview: assign(({ context }, p: Output<CodeReview>) => u.escalateCodeReview(context, p)),
    retryCodeReview: assign(({ context }, p: Output<unknown>) => u.retryCodeReview(context, p)),
    escalateRoleFailure: assign(({ context }, p: RoleFailureParams) => u.escalateRoleFailure(context, p)),
    passGate: assign(({ context }, p: GateParams) => u.passGate(context, p)),
    escalateSameGateFailure: assign(({ context }, p: GateParams) => u.escalateSameGateFailure(context, p)),
    retryAfterGate: assign(({ context }, p: GateParams) => u.retryAfterGate(context, p)),
    escalateGateVerdict: assign(({ context }, p: GateParams) => u.escalateGateVerdict(context, p)),
    escalateGate: assign(({ context }, p: GateParams) => u.escalateGate(context, p)),
    nextStep: assign(({ context }, p: Sha) => u.nextStep(context, p)),
    finishSteps: assign(({ context }, p: Sha) => u.finishSteps(context, p)),
    startValidation: assign(({ context }, p: Sha) => u.startValidation(context, p)),
    countValidationCall: assign(({ context }) => u.countValidationCall(context)),
    passValidation: assign(({ context }, p: Output<Validation>) => u.passValidation(context, p)),
    retryAfterValidation: assign(({ context }, p: Output<Validation>) => u.retryAfterValidation(context, p)),
    escalateValidation: assign(({ context }, p: Output<Validation>) => u.escalateValidation(context, p)),
    escalateValidationRounds: assign(({ context }, p: Output<Validation>) => u.escalateValidationRounds(context, p)),
    retryValidation: assign(({ context }, p: Output<unknown>) => u.retryValidation(context, p)),
    pause: assign(({ context }, p: StopParams) => u.pause(context, p)),
    escalateBudget: assign(({ context }, p: StopParams) => u.escalateBudget(context, p)),
    escalateRateLimit: assign(({ context }, p: StopParams) => u.escalateRateLimit(context, p)),
    escalateInternalError: assign(({ context }, p: Failure) => u.escalateInternalError(context, p)),
    escalateTimeLimit: assign(({ context }) => u.escalateTimeLimit(context)),
    escalate: assign(({ context, event }) => u.escalate(context, event)),
    abort: assign(({ context, event }) => u.abort(context, event)),
    clearWaiting: assign(() => u.clearWaiting()),
    approveByPerson: assign(() => u.approveByPerson()),
    approveValidationByPerson: assign(() => u.approveValidationByPerson()),
    skipByPerson: assign(() => u.skipByPerson()),
    replanByPerson: assign(({ context, event }) => u.replanByPerson(context, event)),
    retryByPerson: assign(({ context, event }) => u.retryByPerson(context, event)),
    raiseBudget: assign(({ context, event }) => u.raiseBudget(context, event)),
    abortByPerson: assign(() => u.abortByPerson()),
  },
  delays: {
    /**
     * The task's time limit, counted from when it (re)starts running. The runtime provides a
     * version that counts from the task's recorded start, so a restart does not reset it.
     */
    timeLimit: ({ context }) => context.task.time_limit_minutes * 60_000,
  },
});
