import { z } from 'zod';
import { ErrorKindSchema, RoleSchema } from './execution.js';
import { AreaSchema, RiskSchema, TaskSpecSchema } from './task-spec.js';
import { ValidationSchema } from './role-outputs.js';
import type { RoleResultMessage, RoleRunMessage } from './role-work.js';

/** Lifecycle states of a task (DESIGN §3), with the seeds' names. */
export const TaskStateSchema = z.enum([
  'NEW',
  'PLANNING',
  'PLAN_REVIEW',
  'PLANNED',
  'IMPLEMENTING',
  'CODE_REVIEW',
  'QUALITY_GATE',
  'STEP_COMPLETE',
  'VALIDATING',
  'DONE',
  'AWAITING_HUMAN_REVIEW',
  'PAUSED',
  'FAILED',
  'ABORTED',
]);
export type TaskState = z.infer<typeof TaskStateSchema>;
export type TerminalState = 'DONE' | 'FAILED' | 'ABORTED';
/** The states a task never leaves. Every layer asks these sets; none writes its own list. */
export const terminalStates: ReadonlySet<TaskState> = new Set<TerminalState>(['DONE', 'FAILED', 'ABORTED']);
export function isTerminal(state: TaskState): state is TerminalState {
  return terminalStates.has(state);
}
/** Terminal, or waiting for a person: nothing moves until someone acts. */
export const restingStates: ReadonlySet<TaskState> = new Set<TaskState>([...terminalStates, 'AWAITING_HUMAN_REVIEW']);
/** States in which the record's snapshot holds the approved plan. */
export const plannedStates: ReadonlySet<TaskState> = new Set<TaskState>([
  'PLANNED',
  'IMPLEMENTING',
  'CODE_REVIEW',
  'QUALITY_GATE',
  'STEP_COMPLETE',
  'VALIDATING',
]);

export const ReviewDecisionSchema = z.discriminatedUnion('decision', [
  z.object({ decision: z.literal('approve') }),
  z.object({ decision: z.literal('feedback'), text: z.string().trim().min(1, 'feedback needs a text') }),
  z.object({ decision: z.literal('skip_step') }),
  z.object({ decision: z.literal('abort') }),
  /** A task stopped by a budget continues, allowed this many more USD on every budget. */
  z.object({ decision: z.literal('raise_budget'), usd: z.number().positive('must be more than 0').finite() }),
]);
export type ReviewDecision = z.infer<typeof ReviewDecisionSchema>;

const base = { taskId: z.string(), at: z.number() };

/** Why a call went to its model (DESIGN §6): what `orchestrator_model_routing` counts and the logs explain. */
const RoutingInfoSchema = z.object({
  /** Registry name of the model, when it has one. */
  model_name: z.string().optional(),
  source: z.enum(['pin', 'matrix', 'history', 'exploration', 'fallback', 'downgrade']),
  reason: z.string(),
  /** The risk class the call was routed with (the declared risk, raised by complexity). */
  task_risk: RiskSchema,
  task_area: AreaSchema,
  step_type: z.string(),
  complexity: z.number().min(0).max(10),
  estimate_usd: z.number().nonnegative(),
});

/** Channel `tandem.v1.events.<task>.<kind>`: one union keyed on `type`. */
export const TaskEventSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('task.state'),
    ...base,
    state: TaskStateSchema,
    previous: TaskStateSchema.optional(),
    stepId: z.string().optional(),
    stepIndex: z.number().int().nonnegative().optional(),
    stepCount: z.number().int().nonnegative().optional(),
    attempt: z.number().int().nonnegative(),
    reason: z.string().optional(),
  }),
  z.object({
    type: z.literal('role.started'),
    ...base,
    stepId: z.string().optional(),
    role: RoleSchema,
    provider: z.string(),
    model: z.string(),
    runner: z.string(),
    attempt: z.number().int().positive(),
    /** The runner has no model behind it (scripted): its answers say nothing about the model named. */
    simulated: z.boolean().optional(),
    routing: RoutingInfoSchema.optional(),
  }),
  z.object({
    /** The router found no model it may call (a budget, every fit model out, none fits): a decision too. */
    type: z.literal('role.refused'),
    ...base,
    stepId: z.string().optional(),
    role: RoleSchema,
    kind: z.enum(['budget', 'unavailable', 'none']),
    reason: z.string(),
    task_risk: z.string(),
    task_area: z.string(),
  }),
  z.object({
    type: z.literal('role.finished'),
    ...base,
    stepId: z.string().optional(),
    role: RoleSchema,
    provider: z.string(),
    model: z.string(),
    runner: z.string(),
    attempt: z.number().int().positive(),
    tries: z.number().int().positive(),
    success: z.boolean(),
    verdict: z.string().optional(),
    /** What a review asked for, in short, when it did not approve. */
    detail: z.string().max(1_000).optional(),
    /** The validator's checklist, so the span tree and the reports show it as it was answered. */
    validation: ValidationSchema.optional(),
    /** A runner's error kind, or `budget` when a retry was refused because it would exceed a budget. */
    error_kind: z.union([ErrorKindSchema, z.literal('budget')]).optional(),
    error: z.string().optional(),
    tokens_input: z.number().int().nonnegative(),
    tokens_output: z.number().int().nonnegative(),
    /** The backend reported no token counts; these are estimates and say so everywhere. */
    tokens_estimated: z.boolean().default(false),
    cost_usd: z.number().nonnegative(),
    latency_ms: z.number().nonnegative(),
    /** Every answer came from the store (a role service died after the model answered): nothing was paid now. */
    replayed: z.boolean().optional(),
  }),
  z.object({
    type: z.literal('gate.finished'),
    ...base,
    stepId: z.string(),
    attempt: z.number().int().positive(),
    passed: z.boolean(),
    summary: z.string(),
    duration_ms: z.number().nonnegative(),
    checks: z.array(
      z.object({
        name: z.string(),
        passed: z.boolean(),
        duration_ms: z.number().nonnegative(),
        /** The end of a failed check's excerpt, for people watching the run. */
        excerpt: z.string().max(2_000).optional(),
      }),
    ),
  }),
  z.object({
    /** One check of the quality gate starting or finishing (the base's measurement too), for live progress. */
    type: z.literal('gate.check'),
    ...base,
    stepId: z.string(),
    attempt: z.number().int().positive(),
    check: z.string(),
    /** The check ran on the base commit, to compare with (measured once per base, then cached). */
    base: z.boolean(),
    phase: z.enum(['started', 'finished']),
    passed: z.boolean().optional(),
    duration_ms: z.number().nonnegative().optional(),
  }),
  z.object({
    type: z.literal('step.committed'),
    ...base,
    stepId: z.string(),
    sha: z.string(),
    branch: z.string(),
  }),
  z.object({
    type: z.literal('task.finished'),
    ...base,
    state: TaskStateSchema,
    branch: z.string().optional(),
    commits: z.array(z.string()),
    cost_usd: z.number().nonnegative(),
    /** The part of cost_usd priced from estimated token counts. */
    cost_estimated_usd: z.number().nonnegative().optional(),
    duration_ms: z.number().nonnegative(),
    reason: z.string().optional(),
  }),
]);
export type TaskEvent = z.infer<typeof TaskEventSchema>;

/** Channel `tandem.v1.control.<task>`. */
export const ControlMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('review.decision'), ...base, decision: ReviewDecisionSchema, by: z.string().optional() }),
  z.object({ type: z.literal('task.abort'), ...base, reason: z.string().optional() }),
]);
export type ControlMessage = z.infer<typeof ControlMessageSchema>;

/** Channel `tandem.v1.tasks.submit`. */
export const SubmitMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('task.submit'),
    spec: TaskSpecSchema,
    /** Absolute path of the repository on the supervisors' machine (or shared volume). */
    repo: z.string(),
    /** The base branch and the commit the submitter saw; the supervisor resolves them when absent. */
    base: z.string().min(1).optional(),
    baseCommit: z
      .string()
      .regex(/^[0-9a-f]{40,64}$/, 'must be a full commit sha')
      .optional(),
    at: z.number(),
  }),
]);
export type SubmitMessage = z.infer<typeof SubmitMessageSchema>;

/** Anything a Bus carries: each channel's own union (the codec checks a message against its channel's schema). */
export type BusMessage = TaskEvent | ControlMessage | SubmitMessage | RoleRunMessage | RoleResultMessage;
