import { z } from 'zod';
import { ErrorKindSchema, ModelRefSchema } from './execution.js';
import { GateReportSchema } from './gate-report.js';
import {
  CodeReviewSchema,
  FindingsReportSchema,
  ImplementationReportSchema,
  PlanReviewSchema,
  PlanSchema,
  PlanStepSchema,
  StepFindingsSchema,
  ValidationSchema,
} from './role-outputs.js';
import { TaskSpecSchema } from './task-spec.js';

/*
 * The contracts between the supervisor machine and its actors, defined ONCE: the machine, the local
 * executor and the NATS role services all use these schemas (a role service checks its input, a
 * supervisor checks a remote result). Inputs and outputs are plain JSON because they are persisted in
 * the machine's snapshot: a restored snapshot re-invokes an in-flight actor with the same input.
 */

/** A runner's failure, or `budget`: the call was not made because it would exceed a budget. */
const RoleFailureKindSchema = z.union([ErrorKindSchema, z.literal('budget')]);
export type RoleFailureKind = z.infer<typeof RoleFailureKindSchema>;

const roleCallMeta = {
  model: ModelRefSchema,
  costUsd: z.number().nonnegative(),
  /** The part of `costUsd` priced from estimated token counts (a runner that reports none). */
  estimatedUsd: z.number().nonnegative().optional(),
};

const RoleFailureSchema = z.object({
  ok: z.literal(false),
  kind: RoleFailureKindSchema,
  error: z.string(),
  retryAfterMs: z.number().nonnegative().optional(),
  /** Clock time when a rate-limited call may be retried (the actor reads the injected clock). */
  retryAt: z.number().optional(),
  /** The model that failed, or (for `budget`) the one that would have been called. */
  ...roleCallMeta,
});
type RoleFailure = z.infer<typeof RoleFailureSchema>;

/** What a role actor hands back: failures are values, never thrown. */
const RoleSuccessMetaSchema = z.object({ ok: z.literal(true), ...roleCallMeta });
function roleResultSchema<T extends z.ZodType>(value: T) {
  return z.discriminatedUnion('ok', [RoleSuccessMetaSchema.extend({ value }), RoleFailureSchema]);
}
export type RoleResult<T> = (z.infer<typeof RoleSuccessMetaSchema> & { readonly value: T }) | RoleFailure;

/** USD a person added to the task's budgets (`tandem review --raise-budget`); every role call gets it. */
const budgetGrant = { budgetGrantUsd: z.number().nonnegative().optional() };

const PrepareInputSchema = z.object({ taskId: z.string().min(1), repo: z.string().min(1), baseCommit: z.string().min(1) });
export type PrepareInput = z.infer<typeof PrepareInputSchema>;
const PrepareOutputSchema = z.object({ worktreePath: z.string().min(1), branch: z.string().min(1) });
export type PrepareOutput = z.infer<typeof PrepareOutputSchema>;

const PlanInputSchema = z.object({
  task: TaskSpecSchema,
  worktreePath: z.string().min(1),
  /** Review round, 1-based: round N answers the review of round N-1. */
  round: z.number().int().positive(),
  /** Ordinal of this planner call in the task, 1-based (the runner's `attempt`). */
  call: z.number().int().positive(),
  feedback: z.string().optional(),
  ...budgetGrant,
});
export type PlanInput = z.infer<typeof PlanInputSchema>;

const PlanReviewInputSchema = z.object({
  task: TaskSpecSchema,
  worktreePath: z.string().min(1),
  plan: PlanSchema,
  call: z.number().int().positive(),
  authorModel: z.string().optional(),
  ...budgetGrant,
});
export type PlanReviewInput = z.infer<typeof PlanReviewInputSchema>;

const stepInput = {
  task: TaskSpecSchema,
  worktreePath: z.string().min(1),
  plan: PlanSchema,
  step: PlanStepSchema,
  attempt: z.number().int().positive(),
  ...budgetGrant,
};
/** What every step role's work gets. */
export type StepInput = z.infer<z.ZodObject<typeof stepInput>>;

const ImplementInputSchema = z.object({ ...stepInput, feedback: z.string().optional() });
export type ImplementInput = z.infer<typeof ImplementInputSchema>;

const DiffSummarySchema = z.object({
  /** Hash of the patch: the same diff twice in a row means no progress. */
  fingerprint: z.string(),
  files: z.array(z.string()).readonly(),
  insertions: z.number().int().nonnegative(),
  deletions: z.number().int().nonnegative(),
  /** The patch, clipped for the snapshot; the reviewer reads the full diff from the worktree. */
  patch: z.string(),
});

/** A code step's answer is its diff; a report step's answer is its findings (and an empty diff). */
const ImplementationSchema = z.object({ report: ImplementationReportSchema, diff: DiffSummarySchema, findings: FindingsReportSchema.optional() });
export type Implementation = z.infer<typeof ImplementationSchema>;

const CodeReviewInputSchema = z.object({ ...stepInput, implementation: ImplementationSchema, authorModel: z.string().optional() });
export type CodeReviewInput = z.infer<typeof CodeReviewInputSchema>;

/** The validator checks the whole branch (every step's commit since the base) and any findings against the task. */
const ValidateInputSchema = z.object({
  task: TaskSpecSchema,
  worktreePath: z.string().min(1),
  baseCommit: z.string().min(1),
  plan: PlanSchema,
  /** Ordinal of this validator call in the task, 1-based (the runner's `attempt`). */
  call: z.number().int().positive(),
  findings: z.array(StepFindingsSchema),
  /** The implementer's model: the validator goes to another provider where one is available. */
  authorModel: z.string().optional(),
  ...budgetGrant,
});
export type ValidateInput = z.infer<typeof ValidateInputSchema>;

const GateInputSchema = z.object({
  taskId: z.string().min(1),
  stepId: z.string().min(1),
  attempt: z.number().int().positive(),
  worktreePath: z.string().min(1),
  baseCommit: z.string().min(1),
  /** The task's `allow_breaking`: removed public exports pass. */
  allowBreaking: z.boolean().optional(),
  /** The task's `coverage_min`: line coverage below it fails. */
  coverageMin: z.number().min(0).max(100).optional(),
  /** The plan step's `commands`: each must pass in the worktree, as a check of this step's gate. */
  stepCommands: z.array(z.string().min(1)).optional(),
});
export type GateInput = z.infer<typeof GateInputSchema>;

const CommitInputSchema = z.object({
  taskId: z.string().min(1),
  /** The task's base: the idempotent commit looks for this step's commit only since it. */
  baseCommit: z.string().optional(),
  worktreePath: z.string().min(1),
  step: PlanStepSchema,
  attempt: z.number().int().positive(),
  /** Skip: discard the step's changes instead of committing them. */
  skip: z.boolean(),
  trailers: z.record(z.string(), z.string()),
});
export type CommitInput = z.infer<typeof CommitInputSchema>;
const CommitOutputSchema = z.object({ sha: z.string().optional() });
export type CommitOutput = z.infer<typeof CommitOutputSchema>;

const WaitInputSchema = z.object({ until: z.number() });
export type WaitInput = z.infer<typeof WaitInputSchema>;

/** The machine's own actors (not role work): their inputs are persisted in its snapshot, never sent over NATS. */
export const SupervisorActorSchemas = {
  prepare: { input: PrepareInputSchema, output: PrepareOutputSchema },
  commit: { input: CommitInputSchema, output: CommitOutputSchema },
  wait: { input: WaitInputSchema },
} as const;

/** Each piece of work a role service can take: its input and output, checked wherever they cross a process. */
export const RoleWorkSchemas = {
  plan: { input: PlanInputSchema, output: roleResultSchema(PlanSchema) },
  reviewPlan: { input: PlanReviewInputSchema, output: roleResultSchema(PlanReviewSchema) },
  implement: { input: ImplementInputSchema, output: roleResultSchema(ImplementationSchema) },
  reviewCode: { input: CodeReviewInputSchema, output: roleResultSchema(CodeReviewSchema) },
  validate: { input: ValidateInputSchema, output: roleResultSchema(ValidationSchema) },
  gate: { input: GateInputSchema, output: GateReportSchema },
} as const;

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
  /** The quality gate could not run (a tool missing, or a failure the base has too). */
  environment: 'environment',
  /** A step removed public exports and the task does not allow breaking changes. */
  breakingChange: 'breaking_change',
  /** The validator asked for a person, or was not sure enough of its verdict. */
  validation: 'validation',
} as const;
export type EscalationKind = (typeof EscalationKind)[keyof typeof EscalationKind];
