import type { PlanStep } from '../model/role-outputs.js';
import { currentStep, type SupervisorContext } from './supervisor-context.js';
import type {
  CodeReviewInput,
  CommitInput,
  GateInput,
  ImplementInput,
  PlanInput,
  PlanReviewInput,
  PrepareInput,
  StepInput,
  ValidateInput,
  WaitInput,
} from '../model/role-contracts.js';
import type { Plan } from '../model/role-outputs.js';

/**
 * What each invoked actor gets, mapped from the context. Mappers never throw: the chart enters the
 * step states only when the step exists (guard `hasCurrentStep`, or a failed empty plan), and
 * inputs are persisted in the snapshot, so a restored actor is re-invoked with the same input.
 */

type Mapper<T> = (args: { readonly context: SupervisorContext }) => T;

/** The step the chart guarantees (see above); typed as present for the actors' contracts. */
function step(context: SupervisorContext): PlanStep {
  return currentStep(context) as PlanStep;
}

function stepInput(context: SupervisorContext): StepInput {
  return {
    task: context.task,
    worktreePath: context.worktreePath ?? '',
    plan: context.plan as Plan,
    step: step(context),
    attempt: context.attempt,
    budgetGrantUsd: context.budgetGrantUsd,
  };
}

export const prepareInput: Mapper<PrepareInput> = ({ context }) => ({ taskId: context.task.id, repo: context.repo, baseCommit: context.baseCommit });

export const planInput: Mapper<PlanInput> = ({ context }) => ({
  task: context.task,
  worktreePath: context.worktreePath ?? '',
  round: context.planRound,
  call: context.planCalls,
  feedback: context.planFeedback,
  budgetGrantUsd: context.budgetGrantUsd,
});

export const planReviewInput: Mapper<PlanReviewInput> = ({ context }) => ({
  task: context.task,
  worktreePath: context.worktreePath ?? '',
  plan: context.plan as Plan,
  call: context.planReviewCalls,
  authorModel: context.plannerModel,
  budgetGrantUsd: context.budgetGrantUsd,
});

export const implementInput: Mapper<ImplementInput> = ({ context }) => ({ ...stepInput(context), feedback: context.feedback });

export const codeReviewInput: Mapper<CodeReviewInput> = ({ context }) => ({
  ...stepInput(context),
  implementation: context.implementation as CodeReviewInput['implementation'],
  authorModel: context.implementerModel,
});

export const validateInput: Mapper<ValidateInput> = ({ context }) => ({
  task: context.task,
  worktreePath: context.worktreePath ?? '',
  baseCommit: context.baseCommit,
  plan: context.plan as Plan,
  call: context.validationCalls ?? 1,
  findings: [...(context.findings ?? [])],
  authorModel: context.implementerModel,
  budgetGrantUsd: context.budgetGrantUsd,
});

export const gateInput: Mapper<GateInput> = ({ context }) => ({
  taskId: context.task.id,
  stepId: step(context).id,
  attempt: context.attempt,
  worktreePath: context.worktreePath ?? '',
  baseCommit: context.baseCommit,
  ...(context.task.allow_breaking === undefined ? {} : { allowBreaking: context.task.allow_breaking }),
  ...(context.task.coverage_min === undefined ? {} : { coverageMin: context.task.coverage_min }),
  ...(step(context).commands.length === 0 ? {} : { stepCommands: step(context).commands }),
});

export const commitInput: Mapper<CommitInput> = ({ context }) => ({
  taskId: context.task.id,
  baseCommit: context.baseCommit,
  worktreePath: context.worktreePath ?? '',
  step: step(context),
  attempt: context.attempt,
  // A report step's answer is its findings: whatever is in the worktree is discarded, never committed.
  skip: context.skipStep || context.implementation?.findings !== undefined,
  trailers: {
    'Tandem-Implementer': context.implementerModel ?? 'unknown',
    'Tandem-Reviewer': context.approvedByPerson ? 'person' : (context.reviewerModel ?? 'unknown'),
    'Tandem-Gate': context.approvedByPerson ? `approved by a person (${context.lastGate ?? 'gate not passed'})` : (context.lastGate ?? 'not run'),
  },
});

export const waitInput: Mapper<WaitInput> = ({ context }) => ({ until: context.pause?.until ?? 0 });
