import { and, type SnapshotFrom } from 'xstate';
import { TaskStateSchema, type TaskState } from '../model/task-events.js';
import type { GateReport } from '../model/gate-report.js';
import {
  codeReviewInput,
  commitInput,
  gateInput,
  implementInput,
  planInput,
  planReviewInput,
  prepareInput,
  validateInput,
  waitInput,
} from './supervisor-inputs.js';
import { initialContext } from './supervisor-context.js';
import { supervisorSetup } from './supervisor-setup.js';
import { answer, AWAITING, FAILED, internalErrorTransition, RESUME, roleCallOutcomes } from './transitions.js';

/**
 * The task lifecycle (DESIGN §3) as a statechart a person can draw (drawn in docs/architecture.md):
 *
 *   running ─┬─ work ─┬─ NEW
 *            │        ├─ plan ─── PLANNING ⇄ PLAN_REVIEW
 *            │        ├─ PLANNED (instant)
 *            │        ├─ step ─── IMPLEMENTING → CODE_REVIEW → QUALITY_GATE → STEP_COMPLETE
 *            │        ├─ validate ─ VALIDATING (after the last step; a failure is a fix-up of that step)
 *            │        └─ resume (deep history: where a pause or a raised budget continues)
 *            └─ PAUSED
 *   AWAITING_HUMAN_REVIEW · DONE · FAILED · ABORTED
 *
 * Leaves are named after the lifecycle states of DESIGN §3 so the drawing reads like the design,
 * and carry them as tags too: `lifecycleState` reads the tag, so the public name never depends on
 * where a state sits in the chart. `running` holds the time limit (a delayed transition on the
 * actor's clock), so time spent waiting for a person does not count.
 * Every guard, action and actor is named in `supervisor-setup.ts`; effects are provided by the
 * runtime or a test, so the machine is pure and any snapshot can be persisted and resumed.
 */

const PLANNING = '#supervisor.running.work.plan.PLANNING';
const PLAN_REVIEW = '#supervisor.running.work.plan.PLAN_REVIEW';
const IMPLEMENTING = '#supervisor.running.work.step.IMPLEMENTING';
const CODE_REVIEW = '#supervisor.running.work.step.CODE_REVIEW';
const STEP_COMPLETE = '#supervisor.running.work.step.STEP_COMPLETE';
const VALIDATING = '#supervisor.running.work.validate.VALIDATING';

export const supervisorMachine = supervisorSetup.createMachine({
  id: 'supervisor',
  context: ({ input }) => initialContext(input),
  initial: 'running',
  on: { ABORT: { target: '.ABORTED', actions: 'abort' } },
  states: {
    running: {
      initial: 'work',
      after: { timeLimit: { target: 'AWAITING_HUMAN_REVIEW', actions: 'escalateTimeLimit' } },
      on: { ESCALATE: { target: 'AWAITING_HUMAN_REVIEW', actions: 'escalate' } },
      states: {
        work: {
          initial: 'NEW',
          states: {
            NEW: {
              tags: 'NEW',
              entry: 'countInvocation',
              invoke: {
                id: 'prepare',
                src: 'prepare',
                input: prepareInput,
                onDone: { target: 'plan', actions: { type: 'keepWorkspace', params: answer } },
                onError: { target: FAILED, actions: { type: 'failPreparing', params: ({ event }) => ({ error: event.error }) } },
              },
            },
            plan: {
              initial: 'PLANNING',
              states: {
                PLANNING: {
                  tags: 'PLANNING',
                  entry: ['countInvocation', 'countPlanCall'],
                  invoke: {
                    id: 'plan',
                    src: 'plan',
                    input: planInput,
                    onDone: roleCallOutcomes({
                      state: 'PLANNING',
                      self: PLANNING,
                      stage: 'plan',
                      role: 'planner',
                      retry: 'retryPlanning',
                      answers: [{ guard: { type: 'answered', params: answer }, target: PLAN_REVIEW, actions: { type: 'acceptPlan', params: answer } }],
                    }),
                    onError: internalErrorTransition,
                  },
                },
                PLAN_REVIEW: {
                  tags: 'PLAN_REVIEW',
                  entry: ['countInvocation', 'countPlanReviewCall'],
                  invoke: {
                    id: 'reviewPlan',
                    src: 'reviewPlan',
                    input: planReviewInput,
                    onDone: roleCallOutcomes({
                      state: 'PLAN_REVIEW',
                      self: PLAN_REVIEW,
                      stage: 'plan',
                      role: 'plan reviewer',
                      retry: 'retryPlanReview',
                      answers: [
                        {
                          guard: { type: 'reviewApproved', params: answer },
                          target: '#supervisor.running.work.PLANNED',
                          actions: { type: 'approvePlanReview', params: answer },
                        },
                        { guard: { type: 'revisionAllowed', params: answer }, target: PLANNING, actions: { type: 'revisePlan', params: answer } },
                        { guard: { type: 'answered', params: answer }, target: AWAITING, actions: { type: 'escalatePlanReview', params: answer } },
                      ],
                    }),
                    onError: internalErrorTransition,
                  },
                },
              },
            },
            // An instant state: the machine passes it within the step that approves the plan. The
            // runtime announces it from the machine's microsteps; it is never a stored snapshot.
            PLANNED: {
              tags: 'PLANNED',
              entry: 'startPlan',
              always: [
                { guard: 'hasCurrentStep', target: 'step' },
                { target: FAILED, actions: 'failEmptyPlan' },
              ],
            },
            step: {
              initial: 'IMPLEMENTING',
              states: {
                IMPLEMENTING: {
                  tags: 'IMPLEMENTING',
                  entry: 'countInvocation',
                  invoke: {
                    id: 'implement',
                    src: 'implement',
                    input: implementInput,
                    onDone: roleCallOutcomes({
                      state: 'IMPLEMENTING',
                      self: IMPLEMENTING,
                      stage: 'step',
                      role: 'implementer',
                      retry: 'retryImplementing',
                      answers: [
                        // A report step answers with findings: no diff to review or gate, nothing to commit.
                        { guard: { type: 'reportAnswered', params: answer }, target: STEP_COMPLETE, actions: { type: 'acceptReport', params: answer } },
                        { guard: { type: 'sameDiff', params: answer }, target: AWAITING, actions: { type: 'escalateSameDiff', params: answer } },
                        { guard: { type: 'answered', params: answer }, target: CODE_REVIEW, actions: { type: 'acceptImplementation', params: answer } },
                      ],
                    }),
                    onError: internalErrorTransition,
                  },
                },
                CODE_REVIEW: {
                  tags: 'CODE_REVIEW',
                  entry: 'countInvocation',
                  invoke: {
                    id: 'reviewCode',
                    src: 'reviewCode',
                    input: codeReviewInput,
                    onDone: roleCallOutcomes({
                      state: 'CODE_REVIEW',
                      self: CODE_REVIEW,
                      stage: 'step',
                      role: 'code reviewer',
                      retry: 'retryCodeReview',
                      answers: [
                        { guard: { type: 'reviewApproved', params: answer }, target: 'QUALITY_GATE', actions: { type: 'acceptCodeReview', params: answer } },
                        {
                          guard: { type: 'changesWithAttemptsLeft', params: answer },
                          target: IMPLEMENTING,
                          actions: { type: 'requestChanges', params: answer },
                        },
                        { guard: { type: 'answered', params: answer }, target: AWAITING, actions: { type: 'escalateCodeReview', params: answer } },
                      ],
                    }),
                    onError: internalErrorTransition,
                  },
                },
                QUALITY_GATE: {
                  tags: 'QUALITY_GATE',
                  entry: 'countInvocation',
                  invoke: {
                    id: 'gate',
                    src: 'gate',
                    input: gateInput,
                    onDone: [
                      { guard: { type: 'gatePassed', params: report }, target: 'STEP_COMPLETE', actions: { type: 'passGate', params: report } },
                      // A check that cannot run, or a breaking change the task does not allow: a person decides, no attempt is spent.
                      { guard: { type: 'gateEscalates', params: report }, target: AWAITING, actions: { type: 'escalateGateVerdict', params: report } },
                      { guard: { type: 'sameGateFailure', params: report }, target: AWAITING, actions: { type: 'escalateSameGateFailure', params: report } },
                      {
                        guard: { type: 'attemptsLeft', params: { stage: 'step' } },
                        target: 'IMPLEMENTING',
                        actions: { type: 'retryAfterGate', params: report },
                      },
                      { target: AWAITING, actions: { type: 'escalateGate', params: report } },
                    ],
                    onError: internalErrorTransition,
                  },
                },
                STEP_COMPLETE: {
                  tags: 'STEP_COMPLETE',
                  entry: 'countInvocation',
                  invoke: {
                    id: 'commit',
                    src: 'commit',
                    input: commitInput,
                    onDone: [
                      { guard: 'hasMoreSteps', target: 'IMPLEMENTING', actions: { type: 'nextStep', params: ({ event }) => ({ sha: event.output.sha }) } },
                      {
                        guard: 'validationEnabled',
                        target: VALIDATING,
                        actions: { type: 'startValidation', params: ({ event }) => ({ sha: event.output.sha }) },
                      },
                      { target: '#supervisor.DONE', actions: { type: 'finishSteps', params: ({ event }) => ({ sha: event.output.sha }) } },
                    ],
                    onError: internalErrorTransition,
                  },
                },
              },
            },
            // Seeds 000/001: after the last step a model of another provider checks the whole branch
            // against the goal, constraints and success criteria before the task is DONE.
            validate: {
              initial: 'VALIDATING',
              states: {
                VALIDATING: {
                  tags: 'VALIDATING',
                  entry: ['countInvocation', 'countValidationCall'],
                  invoke: {
                    id: 'validate',
                    src: 'validate',
                    input: validateInput,
                    onDone: roleCallOutcomes({
                      state: 'VALIDATING',
                      self: VALIDATING,
                      stage: 'validate',
                      role: 'validator',
                      retry: 'retryValidation',
                      answers: [
                        // Escalate, or a verdict less sure than the threshold: a person decides, pass or fail.
                        { guard: { type: 'validationUnsure', params: answer }, target: AWAITING, actions: { type: 'escalateValidation', params: answer } },
                        {
                          guard: { type: 'validationPassed', params: answer },
                          target: '#supervisor.DONE',
                          actions: { type: 'passValidation', params: answer },
                        },
                        {
                          guard: { type: 'validationRoundsLeft', params: answer },
                          target: IMPLEMENTING,
                          actions: { type: 'retryAfterValidation', params: answer },
                        },
                        { guard: { type: 'answered', params: answer }, target: AWAITING, actions: { type: 'escalateValidationRounds', params: answer } },
                      ],
                    }),
                    onError: internalErrorTransition,
                  },
                },
              },
            },
            resume: { type: 'history', history: 'deep' },
          },
        },
        PAUSED: {
          tags: 'PAUSED',
          entry: 'countInvocation',
          invoke: { id: 'wait', src: 'wait', input: waitInput, onDone: { target: RESUME, actions: 'clearWaiting' }, onError: internalErrorTransition },
        },
      },
    },

    AWAITING_HUMAN_REVIEW: {
      tags: 'AWAITING_HUMAN_REVIEW',
      on: {
        REVIEW: [
          // Approve: accept the plan, or the step's current changes, as they are.
          { guard: 'canApprovePlan', target: '#supervisor.running.work.PLANNED', actions: 'clearWaiting' },
          { guard: { type: 'decided', params: { decision: 'approve', stage: 'step' } }, target: STEP_COMPLETE, actions: ['approveByPerson', 'clearWaiting'] },
          // Approve a branch the validator did not pass (or was unsure of): the task is done as it is.
          {
            guard: { type: 'decided', params: { decision: 'approve', stage: 'validate' } },
            target: 'DONE',
            actions: ['approveValidationByPerson', 'clearWaiting'],
          },
          // Feedback: start over when there is no workspace yet, else retry the plan or the step with the person's text.
          {
            guard: and([{ type: 'decided', params: { decision: 'feedback' as const } }, 'noWorkspace']),
            target: '#supervisor.running.work.NEW',
            actions: 'clearWaiting',
          },
          { guard: { type: 'decided', params: { decision: 'feedback', stage: 'plan' } }, target: PLANNING, actions: ['replanByPerson', 'clearWaiting'] },
          { guard: { type: 'decided', params: { decision: 'feedback', stage: 'step' } }, target: IMPLEMENTING, actions: ['retryByPerson', 'clearWaiting'] },
          // Feedback on a validation: a fix-up of the last step with the person's text.
          { guard: { type: 'decided', params: { decision: 'feedback', stage: 'validate' } }, target: IMPLEMENTING, actions: ['retryByPerson', 'clearWaiting'] },
          { guard: { type: 'decided', params: { decision: 'skip_step', stage: 'step' } }, target: STEP_COMPLETE, actions: ['skipByPerson', 'clearWaiting'] },
          // Raise the budget: the call the budget stopped is made again (history), with the larger allowance.
          { guard: 'canRaiseBudget', target: RESUME, actions: 'raiseBudget' },
          { guard: { type: 'decided', params: { decision: 'abort' } }, target: 'ABORTED', actions: 'abortByPerson' },
        ],
      },
    },

    DONE: { type: 'final', tags: 'DONE' },
    FAILED: { type: 'final', tags: 'FAILED' },
    ABORTED: { type: 'final', tags: 'ABORTED' },
  },
});

/** The gate's report, as the params of the gate's guards and actions. */
function report({ event }: { readonly event: { readonly output: GateReport } }) {
  return { report: event.output };
}

export type SupervisorMachine = typeof supervisorMachine;
export type SupervisorSnapshot = SnapshotFrom<SupervisorMachine>;

const lifecycleNames = TaskStateSchema.options;

/** The lifecycle state of a snapshot, as the seeds name it: the tag of its active leaf. */
export function lifecycleState(snapshot: { readonly hasTag: (tag: string) => boolean }): TaskState {
  const state = lifecycleNames.find((name) => snapshot.hasTag(name));
  if (state === undefined) throw new Error('the supervisor snapshot has no lifecycle tag');
  return state;
}
