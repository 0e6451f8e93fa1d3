import { z } from 'zod';
import { StepFindingsSchema, ValidationVerdictSchema } from './role-outputs.js';
import { TaskStateSchema } from './task-events.js';

/**
 * What `tandem status --json` prints (and progress, review and the run's summary show): the numbers
 * of one task, derived once from its stored record and the cost ledger. Version 1; a field that
 * changes meaning or goes away bumps `v` of the report, new fields may be added.
 */
const TaskStatusSchema = z.object({
  id: z.string(),
  state: TaskStateSchema,
  /** The step being worked on, when the plan is approved and a step is open. */
  step: z.object({ id: z.string(), index: z.number().int().nonnegative(), count: z.number().int().nonnegative() }).nullable(),
  steps_done: z.number().int().nonnegative(),
  steps_total: z.number().int().nonnegative().nullable(),
  /**
   * The attempt now under way (of the open step, or the plan round while planning); for a task at rest
   * after a step, the attempt that step passed on.
   */
  attempt: z.number().int().nonnegative(),
  /** Plan rounds made (planner calls that were answered), 0 before the first. */
  plan_rounds: z.number().int().nonnegative(),
  /** Attempts each step took, by step id, as recorded by its implementer calls. */
  step_attempts: z.record(z.string(), z.number().int().positive()),
  /** Every model call (each try of each attempt) recorded in the cost ledger, whichever process made it. */
  model_calls: z.number().int().nonnegative(),
  cost_usd: z.number().nonnegative(),
  /** The part of cost_usd priced from estimated token counts. */
  cost_estimated_usd: z.number().nonnegative(),
  /** Time the task was being worked on: from submission to now or its end, less the waiting below. */
  active_ms: z.number().nonnegative(),
  /** Time it has been waiting now: for a person (AWAITING_HUMAN_REVIEW) or a rate limit (PAUSED). */
  waiting_ms: z.number().nonnegative(),
  waiting: z.object({ stage: z.enum(['plan', 'step', 'validate']), kind: z.string(), reason: z.string() }).nullable(),
  paused_until: z.number().nullable(),
  failure: z.string().nullable(),
  /** Absent once aborted: the branch is deleted then. */
  branch: z.string().nullable(),
  commits: z.array(z.object({ stepId: z.string(), sha: z.string() })),
  /** What the task's report steps found (analysis tasks deliver nothing else); empty for code steps. */
  findings: z.array(StepFindingsSchema),
  /** The validator's last verdict on the branch (its checklist); null before it answered. */
  validation: ValidationVerdictSchema.nullable(),
  repo: z.string(),
  created_at: z.number(),
  updated_at: z.number(),
  finished_at: z.number().nullable(),
});
export type TaskStatus = z.infer<typeof TaskStatusSchema>;

export const StatusReportSchema = z.object({
  v: z.literal(1),
  tasks: z.array(TaskStatusSchema),
});
export type StatusReport = z.infer<typeof StatusReportSchema>;
