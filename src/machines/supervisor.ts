import { assign, fromPromise, setup, type ActorLogicFrom, type SnapshotFrom } from 'xstate';
import type { ModelRef } from '../model/execution.js';
import type { Plan, PlanStep } from '../model/role-outputs.js';
import type { ReviewDecision, TaskState } from '../model/task-events.js';
import { gateEscalation, type GateReport } from '../model/gate-report.js';
import type { TaskSpec } from '../model/task-spec.js';
import { EscalationKind, type CodeReviewInput, type CommitInput, type CommitOutput, type GateInput, type Implementation, type ImplementInput, type PlanInput, type PlanReviewInput, type PrepareInput, type PrepareOutput, type RoleResult, type WaitInput } from '../model/role-contracts.js';
import { type CodeReview, type PlanReview } from '../model/role-outputs.js';

/**
 * The task lifecycle (DESIGN §3) as one flat XState machine whose state names are the seeds'
 * lifecycle states. Every effect (git, models, the gate, waiting) is a named actor supplied through
 * `setup()` and replaced with `.provide()`: the runtime provides the real ones, tests provide fakes.
 * The machine itself is pure, so any snapshot can be persisted and resumed.
 */

export interface SupervisorLimits {
  readonly maxAttempts: number;
  readonly maxPlanRounds: number;
  /** Longest rate-limit pause honoured; a longer reset asks a person instead. */
  readonly maxPauseMs: number;
}

export interface SupervisorInput {
  readonly task: TaskSpec;
  readonly repo: string;
  readonly baseCommit: string;
  readonly startedAt: number;
  readonly limits: SupervisorLimits;
}

export type ResumableState = 'PLANNING' | 'PLAN_REVIEW' | 'IMPLEMENTING' | 'CODE_REVIEW';
type RateLimitParams = { readonly output: RoleResult<unknown>; readonly state: ResumableState };

export interface WaitingReason {
  readonly stage: 'plan' | 'step';
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
  readonly skipStep: boolean;
  readonly approvedByPerson: boolean;
  readonly waiting?: WaitingReason | undefined;
  readonly pause?: { readonly until: number; readonly resume: ResumableState; readonly reason: string } | undefined;
  readonly failure?: string | undefined;
  readonly costUsd: number;
  /** The part of `costUsd` priced from estimated token counts; absent in snapshots from before it existed. */
  readonly estimatedCostUsd?: number | undefined;
  /** USD people added to the task's budgets; absent in snapshots from before budgets existed. */
  readonly budgetGrantUsd?: number | undefined;
}

export type SupervisorEvent =
  | { readonly type: 'REVIEW'; readonly decision: ReviewDecision }
  | { readonly type: 'ABORT'; readonly reason?: string | undefined }
  | { readonly type: 'ESCALATE'; readonly kind: EscalationKind; readonly reason: string };

/** Placeholders that fail loudly: the runtime (or a test) provides every actor with `.provide()`. */
function notProvided<TOutput, TInput>(name: string) {
  return fromPromise<TOutput, TInput>(() => Promise.reject(new Error(`the ${name} actor was not provided to the supervisor machine`)));
}

/** Feedback for the implementer from a code review that did not approve. */
export function reviewFeedback(review: CodeReview): string {
  const r = review.review;
  const lines = [`The code reviewer answered "${review.status}".`];
  const section = (title: string, items: readonly string[]): void => {
    if (items.length > 0) lines.push(`${title}:`, ...items.map((i) => `- ${i}`));
  };
  section('Required changes', r.required_changes);
  section('Security issues', r.security_issues);
  section('Performance concerns', r.performance_concerns);
  section('Optional improvements', r.optional_improvements);
  return lines.join('\n');
}

export function planReviewFeedback(review: PlanReview): string {
  const r = review.review;
  const lines = [`The plan reviewer answered "${review.status}".`];
  const section = (title: string, items: readonly string[]): void => {
    if (items.length > 0) lines.push(`${title}:`, ...items.map((i) => `- ${i}`));
  };
  section('Missing steps', r.missing_steps);
  section('Concerns', r.concerns);
  section('Suggestions', r.suggestions);
  return lines.join('\n');
}

export function gateFeedback(report: GateReport): string {
  const failed = report.checks.filter((c) => !c.passed);
  return [`The quality gate failed: ${report.summary}.`, ...failed.map((c) => `### ${c.name} (${c.kind})\n${c.excerpt}`)].join('\n\n');
}

/** Two failures are "the same" when the same checks fail with the same output: no progress. */
function gateFingerprint(report: GateReport): string {
  return report.checks
    .filter((c) => !c.passed)
    .map((c) => `${c.name}:${c.excerpt}`)
    .join('\n');
}

function currentStep(context: SupervisorContext): PlanStep {
  const step = context.plan?.steps[context.stepIndex];
  if (!step) throw new Error(`task ${context.task.id} has no step ${context.stepIndex}`);
  return step;
}

function stepInput(context: SupervisorContext) {
  return {
    task: context.task,
    worktreePath: context.worktreePath ?? '',
    plan: context.plan as Plan,
    step: currentStep(context),
    attempt: context.attempt,
    budgetGrantUsd: context.budgetGrantUsd,
  };
}

function modelName(model: ModelRef): string {
  return `${model.provider}/${model.model}`;
}

function failureText(result: RoleResult<unknown>): string {
  return result.ok ? '' : `${result.kind}: ${result.error}`;
}

export const supervisorMachine = setup({
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
    gate: notProvided<GateReport, GateInput>('gate'),
    commit: notProvided<CommitOutput, CommitInput>('commit'),
    wait: notProvided<void, WaitInput>('wait'),
  },
  guards: {
    hasMoreSteps: ({ context }) => context.plan !== undefined && context.stepIndex + 1 < context.plan.steps.length,
    planAttemptsLeft: ({ context }) => context.planFailures + 1 < context.limits.maxAttempts,
    stepAttemptsLeft: ({ context }) => context.stepFailures + 1 < context.limits.maxAttempts,
    waitingOnPlan: ({ context }) => context.waiting?.stage === 'plan',
    waitingOnStep: ({ context }) => context.waiting?.stage === 'step',
    canApprovePlan: ({ context, event }) =>
      event.type === 'REVIEW' && event.decision.decision === 'approve' && context.waiting?.stage === 'plan' && context.plan !== undefined,
    resumeTo: ({ context }, params: { state: ResumableState }) => context.pause?.resume === params.state,
    rateLimited: (_, params: RateLimitParams) => !params.output.ok && params.output.kind === 'rate_limit',
    pausable: ({ context }, params: RateLimitParams) =>
      !params.output.ok && params.output.kind === 'rate_limit' && (params.output.retryAfterMs ?? 60_000) <= context.limits.maxPauseMs,
    budgetStopped: (_, params: RateLimitParams) => !params.output.ok && params.output.kind === 'budget',
    raiseBudgetTo: ({ context, event }, params: { state: ResumableState }) =>
      event.type === 'REVIEW' && event.decision.decision === 'raise_budget' && context.waiting?.kind === EscalationKind.budget && context.waiting.resume === params.state,
  },
  actions: {
    clearWaiting: assign({ waiting: undefined, pause: undefined }),
    pause: assign(({ context }, params: RateLimitParams) => ({
      ...spend(context, params.output),
      pause: {
        until: params.output.ok ? 0 : (params.output.retryAt ?? 0),
        resume: params.state,
        reason: `rate limited by ${modelName(params.output.model)}`,
      },
    })),
    escalateBudget: assign(({ context }, params: RateLimitParams) => ({
      ...spend(context, params.output),
      waiting: {
        stage: params.state === 'PLANNING' || params.state === 'PLAN_REVIEW' ? ('plan' as const) : ('step' as const),
        kind: EscalationKind.budget,
        reason: params.output.ok ? '' : params.output.error,
        resume: params.state,
      },
    })),
    raiseBudget: assign(({ context, event }) => ({
      budgetGrantUsd: (context.budgetGrantUsd ?? 0) + (event.type === 'REVIEW' && event.decision.decision === 'raise_budget' ? event.decision.usd : 0),
      waiting: undefined,
    })),
    escalateRateLimit: assign(({ context }, params: RateLimitParams) => ({
      ...spend(context, params.output),
      waiting: {
        stage: params.state === 'PLANNING' || params.state === 'PLAN_REVIEW' ? ('plan' as const) : ('step' as const),
        kind: EscalationKind.rateLimit,
        reason: `rate limited by ${modelName(params.output.model)} for longer than the longest allowed pause`,
      },
    })),
  },
}).createMachine({
  id: 'supervisor',
  initial: 'NEW',
  context: ({ input }) => ({
    task: input.task,
    repo: input.repo,
    baseCommit: input.baseCommit,
    startedAt: input.startedAt,
    limits: input.limits,
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
  }),
  on: {
    ABORT: { target: '.ABORTED', actions: assign({ failure: ({ event }) => event.reason ?? 'aborted' }) },
    ESCALATE: {
      target: '.AWAITING_HUMAN_REVIEW',
      actions: assign({
        waiting: ({ context, event }) => ({ stage: context.planApproved ? 'step' : 'plan', kind: event.kind, reason: event.reason }),
      }),
    },
  },
  states: {
    NEW: {
      invoke: {
        id: 'prepare',
        src: 'prepare',
        input: ({ context }) => ({ taskId: context.task.id, repo: context.repo, baseCommit: context.baseCommit }),
        onDone: {
          target: 'PLANNING',
          actions: assign({ worktreePath: ({ event }) => event.output.worktreePath, branch: ({ event }) => event.output.branch }),
        },
        onError: { target: 'FAILED', actions: assign({ failure: ({ event }) => `cannot prepare the workspace: ${errorText(event.error)}` }) },
      },
    },

    PLANNING: {
      entry: assign({ planCalls: ({ context }) => context.planCalls + 1 }),
      invoke: {
        id: 'plan',
        src: 'plan',
        input: ({ context }) => ({
          task: context.task,
          worktreePath: context.worktreePath ?? '',
          round: context.planRound,
          call: context.planCalls,
          feedback: context.planFeedback,
          budgetGrantUsd: context.budgetGrantUsd,
        }),
        onDone: [
          {
            guard: ({ event }) => event.output.ok,
            target: 'PLAN_REVIEW',
            actions: assign(({ context, event }) => ({
              plan: event.output.ok ? event.output.value : context.plan,
              plannerModel: modelName(event.output.model),
              ...spend(context, event.output),
            })),
          },
          ...stopTransitions('PLANNING'),
          {
            guard: 'planAttemptsLeft',
            target: 'PLANNING',
            reenter: true,
            actions: assign(({ context, event }) => ({
              planFailures: context.planFailures + 1,
              ...spend(context, event.output),
              planFeedback: joinFeedback(context.planFeedback, `Your previous answer failed: ${failureText(event.output)}`),
            })),
          },
          {
            target: 'AWAITING_HUMAN_REVIEW',
            actions: assign(({ context, event }) => ({
              ...spend(context, event.output),
              waiting: { stage: 'plan', kind: EscalationKind.roleFailed, reason: `the planner failed ${context.planFailures + 1} times; last: ${failureText(event.output)}` },
            })),
          },
        ],
        onError: { target: 'AWAITING_HUMAN_REVIEW', actions: assign({ waiting: ({ context, event }) => internalError(context, event.error) }) },
      },
    },

    PLAN_REVIEW: {
      entry: assign({ planReviewCalls: ({ context }) => context.planReviewCalls + 1 }),
      invoke: {
        id: 'reviewPlan',
        src: 'reviewPlan',
        input: ({ context }) => ({
          task: context.task,
          worktreePath: context.worktreePath ?? '',
          plan: context.plan as Plan,
          call: context.planReviewCalls,
          authorModel: context.plannerModel,
          budgetGrantUsd: context.budgetGrantUsd,
        }),
        onDone: [
          {
            guard: ({ event }) => event.output.ok && event.output.value.status === 'approved',
            target: 'PLANNED',
            actions: assign(({ context, event }) => ({ ...spend(context, event.output), planFeedback: undefined })),
          },
          {
            guard: ({ context, event }) =>
              event.output.ok && event.output.value.status === 'needs_revision' && context.planRevisions + 1 < context.limits.maxPlanRounds,
            target: 'PLANNING',
            actions: assign(({ context, event }) => ({
              ...spend(context, event.output),
              planRound: context.planRound + 1,
              planRevisions: context.planRevisions + 1,
              planFeedback: event.output.ok ? planReviewFeedback(event.output.value) : undefined,
            })),
          },
          {
            guard: ({ event }) => event.output.ok,
            target: 'AWAITING_HUMAN_REVIEW',
            actions: assign(({ context, event }) => {
              const review = event.output.ok ? event.output.value : undefined;
              const rejected = review?.status === 'rejected';
              return {
                ...spend(context, event.output),
                planFeedback: review ? planReviewFeedback(review) : undefined,
                waiting: {
                  stage: 'plan' as const,
                  kind: rejected ? EscalationKind.planRejected : EscalationKind.planRoundsExhausted,
                  reason: rejected
                    ? `the plan reviewer rejected the plan: ${review ? planReviewFeedback(review) : ''}`
                    : `the plan still needs revision after ${context.planRevisions + 1} rounds of review`,
                },
              };
            }),
          },
          ...stopTransitions('PLAN_REVIEW'),
          {
            guard: 'planAttemptsLeft',
            target: 'PLAN_REVIEW',
            reenter: true,
            actions: assign(({ context, event }) => ({ planFailures: context.planFailures + 1, ...spend(context, event.output) })),
          },
          {
            target: 'AWAITING_HUMAN_REVIEW',
            actions: assign(({ context, event }) => ({
              ...spend(context, event.output),
              waiting: { stage: 'plan', kind: EscalationKind.roleFailed, reason: `the plan reviewer failed ${context.planFailures + 1} times; last: ${failureText(event.output)}` },
            })),
          },
        ],
        onError: { target: 'AWAITING_HUMAN_REVIEW', actions: assign({ waiting: ({ context, event }) => internalError(context, event.error) }) },
      },
    },

    // An instant state: the machine passes it in the step that approves the plan, so no snapshot of
    // it is persisted; the runtime announces it (task.state PLANNED) as the first step starts.
    PLANNED: {
      always: { target: 'IMPLEMENTING', actions: assign({ ...freshStep(0), planFailures: 0, planApproved: true }) },
    },

    IMPLEMENTING: {
      invoke: {
        id: 'implement',
        src: 'implement',
        input: ({ context }) => ({ ...stepInput(context), feedback: context.feedback }),
        onDone: [
          {
            guard: ({ context, event }) => event.output.ok && event.output.value.diff.fingerprint === context.lastDiffFingerprint,
            target: 'AWAITING_HUMAN_REVIEW',
            actions: assign(({ context, event }) => ({
              ...spend(context, event.output),
              implementation: event.output.ok ? event.output.value : context.implementation,
              waiting: { stage: 'step', kind: EscalationKind.noProgress, reason: 'the implementer produced the same diff twice in a row' },
            })),
          },
          {
            guard: ({ event }) => event.output.ok,
            target: 'CODE_REVIEW',
            actions: assign(({ context, event }) => ({
              ...spend(context, event.output),
              implementation: event.output.ok ? event.output.value : context.implementation,
              implementerModel: modelName(event.output.model),
              lastDiffFingerprint: event.output.ok ? event.output.value.diff.fingerprint : undefined,
            })),
          },
          ...stopTransitions('IMPLEMENTING'),
          {
            guard: 'stepAttemptsLeft',
            target: 'IMPLEMENTING',
            reenter: true,
            actions: assign(({ context, event }) => ({
              ...spend(context, event.output),
              ...nextAttempt(context, `The implementer call failed: ${failureText(event.output)}`),
            })),
          },
          {
            target: 'AWAITING_HUMAN_REVIEW',
            actions: assign(({ context, event }) => ({
              ...spend(context, event.output),
              waiting: { stage: 'step', kind: EscalationKind.roleFailed, reason: `the implementer failed ${context.stepFailures + 1} times; last: ${failureText(event.output)}` },
            })),
          },
        ],
        onError: { target: 'AWAITING_HUMAN_REVIEW', actions: assign({ waiting: ({ context, event }) => internalError(context, event.error) }) },
      },
    },

    CODE_REVIEW: {
      invoke: {
        id: 'reviewCode',
        src: 'reviewCode',
        input: ({ context }) => ({ ...stepInput(context), implementation: context.implementation as Implementation, authorModel: context.implementerModel }),
        onDone: [
          {
            guard: ({ event }) => event.output.ok && event.output.value.status === 'approved',
            target: 'QUALITY_GATE',
            actions: assign(({ context, event }) => ({ ...spend(context, event.output), reviewerModel: modelName(event.output.model) })),
          },
          {
            guard: ({ context, event }) => event.output.ok && context.stepFailures + 1 < context.limits.maxAttempts,
            target: 'IMPLEMENTING',
            actions: assign(({ context, event }) => ({
              ...spend(context, event.output),
              ...nextAttempt(context, event.output.ok ? reviewFeedback(event.output.value) : ''),
            })),
          },
          {
            guard: ({ event }) => event.output.ok,
            target: 'AWAITING_HUMAN_REVIEW',
            actions: assign(({ context, event }) => ({
              ...spend(context, event.output),
              feedback: event.output.ok ? reviewFeedback(event.output.value) : context.feedback,
              waiting: {
                stage: 'step',
                kind: EscalationKind.attemptsExhausted,
                reason: `the code review did not approve after ${context.stepFailures + 1} attempts: ${event.output.ok ? reviewFeedback(event.output.value) : ''}`,
              },
            })),
          },
          ...stopTransitions('CODE_REVIEW'),
          {
            guard: 'stepAttemptsLeft',
            target: 'CODE_REVIEW',
            reenter: true,
            actions: assign(({ context, event }) => ({ ...spend(context, event.output), stepFailures: context.stepFailures + 1 })),
          },
          {
            target: 'AWAITING_HUMAN_REVIEW',
            actions: assign(({ context, event }) => ({
              ...spend(context, event.output),
              waiting: { stage: 'step', kind: EscalationKind.roleFailed, reason: `the code reviewer failed ${context.stepFailures + 1} times; last: ${failureText(event.output)}` },
            })),
          },
        ],
        onError: { target: 'AWAITING_HUMAN_REVIEW', actions: assign({ waiting: ({ context, event }) => internalError(context, event.error) }) },
      },
    },

    QUALITY_GATE: {
      invoke: {
        id: 'gate',
        src: 'gate',
        input: ({ context }) => ({
          taskId: context.task.id,
          stepId: currentStep(context).id,
          attempt: context.attempt,
          worktreePath: context.worktreePath ?? '',
          baseCommit: context.baseCommit,
          ...(context.task.allow_breaking === undefined ? {} : { allowBreaking: context.task.allow_breaking }),
          ...(context.task.coverage_min === undefined ? {} : { coverageMin: context.task.coverage_min }),
        }),
        onDone: [
          {
            guard: ({ event }) => event.output.passed,
            target: 'STEP_COMPLETE',
            actions: assign({ lastGate: ({ event }) => event.output.summary, skipStep: false, approvedByPerson: false }),
          },
          {
            // A check that cannot run, or a breaking change the task does not allow: a person decides, no attempt is spent.
            guard: ({ event }) => gateEscalation(event.output) !== undefined,
            target: 'AWAITING_HUMAN_REVIEW',
            actions: assign(({ event }) => ({
              lastGate: event.output.summary,
              feedback: gateFeedback(event.output),
              waiting: { stage: 'step' as const, ...(gateEscalation(event.output) ?? { kind: EscalationKind.internalError, reason: event.output.summary }) },
            })),
          },
          {
            guard: ({ context, event }) => gateFingerprint(event.output) === context.lastFailure,
            target: 'AWAITING_HUMAN_REVIEW',
            actions: assign(({ event }) => ({
              lastGate: event.output.summary,
              feedback: gateFeedback(event.output),
              waiting: { stage: 'step', kind: EscalationKind.noProgress, reason: `the quality gate failed the same way twice in a row: ${event.output.summary}` },
            })),
          },
          {
            guard: 'stepAttemptsLeft',
            target: 'IMPLEMENTING',
            actions: assign(({ context, event }) => ({
              lastGate: event.output.summary,
              ...nextAttempt(context, gateFeedback(event.output)),
              lastFailure: gateFingerprint(event.output),
            })),
          },
          {
            target: 'AWAITING_HUMAN_REVIEW',
            actions: assign(({ context, event }) => ({
              lastGate: event.output.summary,
              feedback: gateFeedback(event.output),
              waiting: { stage: 'step', kind: EscalationKind.attemptsExhausted, reason: `the quality gate failed ${context.stepFailures + 1} times: ${event.output.summary}` },
            })),
          },
        ],
        onError: { target: 'AWAITING_HUMAN_REVIEW', actions: assign({ waiting: ({ context, event }) => internalError(context, event.error) }) },
      },
    },

    STEP_COMPLETE: {
      invoke: {
        id: 'commit',
        src: 'commit',
        input: ({ context }) => ({
          taskId: context.task.id,
          baseCommit: context.baseCommit,
          worktreePath: context.worktreePath ?? '',
          step: currentStep(context),
          attempt: context.attempt,
          skip: context.skipStep,
          trailers: {
            'Tandem-Implementer': context.implementerModel ?? 'unknown',
            'Tandem-Reviewer': context.approvedByPerson ? 'person' : (context.reviewerModel ?? 'unknown'),
            'Tandem-Gate': context.approvedByPerson ? `approved by a person (${context.lastGate ?? 'gate not passed'})` : (context.lastGate ?? 'not run'),
          },
        }),
        onDone: [
          {
            guard: 'hasMoreSteps',
            target: 'IMPLEMENTING',
            actions: assign(({ context, event }) => ({
              commits: appendCommit(context, event.output.sha),
              ...freshStep(context.stepIndex + 1),
            })),
          },
          { target: 'DONE', actions: assign(({ context, event }) => ({ commits: appendCommit(context, event.output.sha), ...freshStep(context.stepIndex) })) },
        ],
        onError: { target: 'AWAITING_HUMAN_REVIEW', actions: assign({ waiting: ({ context, event }) => internalError(context, event.error) }) },
      },
    },

    AWAITING_HUMAN_REVIEW: {
      on: {
        REVIEW: [
          // Approve: accept the plan, or the step's current changes, as they are.
          { guard: 'canApprovePlan', target: 'PLANNED', actions: 'clearWaiting' },
          {
            guard: ({ context, event }) => event.decision.decision === 'approve' && context.waiting?.stage === 'step',
            target: 'STEP_COMPLETE',
            actions: [assign({ approvedByPerson: true, skipStep: false }), 'clearWaiting'],
          },
          {
            // Stopped before the workspace existed (e.g. the time limit hit in NEW): start over.
            guard: ({ context, event }) => event.decision.decision === 'feedback' && context.worktreePath === undefined,
            target: 'NEW',
            actions: 'clearWaiting',
          },
          {
            guard: ({ context, event }) => event.decision.decision === 'feedback' && context.waiting?.stage === 'plan',
            target: 'PLANNING',
            actions: [
              assign(({ context, event }) => ({
                planFailures: 0,
                planRevisions: 0,
                planRound: context.plan ? context.planRound + 1 : context.planRound,
                planFeedback: event.decision.decision === 'feedback' ? `A person reviewed the plan and says:\n${event.decision.text}` : undefined,
              })),
              'clearWaiting',
            ],
          },
          {
            guard: ({ context, event }) => event.decision.decision === 'feedback' && context.waiting?.stage === 'step',
            target: 'IMPLEMENTING',
            actions: [
              assign(({ context, event }) => ({
                attempt: context.attempt + 1,
                stepFailures: 0,
                lastDiffFingerprint: undefined,
                lastFailure: undefined,
                feedback: event.decision.decision === 'feedback' ? `A person reviewed your change and says:\n${event.decision.text}` : undefined,
              })),
              'clearWaiting',
            ],
          },
          {
            guard: ({ context, event }) => event.decision.decision === 'skip_step' && context.waiting?.stage === 'step',
            target: 'STEP_COMPLETE',
            actions: [assign({ skipStep: true }), 'clearWaiting'],
          },
          // Raise the budget: the call the budget stopped is made again, with the larger allowance.
          { guard: { type: 'raiseBudgetTo', params: { state: 'PLANNING' } }, target: 'PLANNING', actions: 'raiseBudget' },
          { guard: { type: 'raiseBudgetTo', params: { state: 'PLAN_REVIEW' } }, target: 'PLAN_REVIEW', actions: 'raiseBudget' },
          { guard: { type: 'raiseBudgetTo', params: { state: 'IMPLEMENTING' } }, target: 'IMPLEMENTING', actions: 'raiseBudget' },
          { guard: { type: 'raiseBudgetTo', params: { state: 'CODE_REVIEW' } }, target: 'CODE_REVIEW', actions: 'raiseBudget' },
          { guard: ({ event }) => event.decision.decision === 'abort', target: 'ABORTED', actions: assign({ failure: 'aborted by a person' }) },
        ],
        // A task already waiting for a person is not escalated again.
        ESCALATE: {},
      },
    },

    PAUSED: {
      invoke: {
        id: 'wait',
        src: 'wait',
        input: ({ context }) => ({ until: context.pause?.until ?? 0 }),
        onDone: [
          { guard: { type: 'resumeTo', params: { state: 'PLANNING' } }, target: 'PLANNING', actions: 'clearWaiting' },
          { guard: { type: 'resumeTo', params: { state: 'PLAN_REVIEW' } }, target: 'PLAN_REVIEW', actions: 'clearWaiting' },
          { guard: { type: 'resumeTo', params: { state: 'IMPLEMENTING' } }, target: 'IMPLEMENTING', actions: 'clearWaiting' },
          { guard: { type: 'resumeTo', params: { state: 'CODE_REVIEW' } }, target: 'CODE_REVIEW', actions: 'clearWaiting' },
        ],
        onError: { target: 'AWAITING_HUMAN_REVIEW', actions: assign({ waiting: ({ context, event }) => internalError(context, event.error) }) },
      },
    },

    DONE: { type: 'final' },
    FAILED: { type: 'final' },
    ABORTED: { type: 'final' },
  },
});

type OutputArgs = { readonly event: { readonly output: RoleResult<unknown> } };

/**
 * Stops that are not the model's fault and spend no attempt: a budget that would be exceeded waits
 * for a person (who may raise it); a rate limit parks the task until the reset time (DESIGN §3).
 */
function stopTransitions(state: ResumableState) {
  const params = ({ event }: OutputArgs) => ({ output: event.output, state });
  return [
    { guard: { type: 'budgetStopped' as const, params }, target: 'AWAITING_HUMAN_REVIEW' as const, actions: { type: 'escalateBudget' as const, params } },
    { guard: { type: 'pausable' as const, params }, target: 'PAUSED' as const, actions: { type: 'pause' as const, params } },
    { guard: { type: 'rateLimited' as const, params }, target: 'AWAITING_HUMAN_REVIEW' as const, actions: { type: 'escalateRateLimit' as const, params } },
  ];
}

function nextAttempt(context: SupervisorContext, feedback: string) {
  return { attempt: context.attempt + 1, stepFailures: context.stepFailures + 1, feedback };
}

function freshStep(stepIndex: number) {
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

function appendCommit(context: SupervisorContext, sha: string | undefined) {
  return sha ? [...context.commits, { stepId: currentStep(context).id, sha }] : context.commits;
}

function joinFeedback(previous: string | undefined, next: string): string {
  return previous ? `${previous}\n\n${next}` : next;
}

/** Adds a role call's cost to the task's, keeping apart the part priced from estimated tokens. */
function spend(context: SupervisorContext, output: { readonly costUsd: number; readonly estimatedUsd?: number | undefined }) {
  return { costUsd: context.costUsd + output.costUsd, estimatedCostUsd: (context.estimatedCostUsd ?? 0) + (output.estimatedUsd ?? 0) };
}

function internalError(context: SupervisorContext, error: unknown): WaitingReason {
  return { stage: context.planApproved ? 'step' : 'plan', kind: EscalationKind.internalError, reason: `internal error: ${errorText(error)}` };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export type SupervisorMachine = typeof supervisorMachine;
export type SupervisorSnapshot = SnapshotFrom<SupervisorMachine>;
export type SupervisorActorLogic = ActorLogicFrom<SupervisorMachine>;

/** The lifecycle state of a snapshot, as the seeds name it. */
export function lifecycleState(snapshot: { value: unknown }): TaskState {
  return snapshot.value as TaskState;
}
