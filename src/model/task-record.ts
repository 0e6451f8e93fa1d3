import { z } from 'zod';
import { TaskStateSchema } from './task-events.js';
import { TaskSpecSchema } from './task-spec.js';
import { PlanSchema, StepFindingsSchema, ValidationVerdictSchema } from './role-outputs.js';

/**
 * What the store keeps per task: the status people and tools read, and the machine snapshot the
 * supervisor resumes from. One key per task, so a transition is one durable write.
 */
export const TaskRecordSchema = z.object({
  version: z.literal(1),
  id: z.string(),
  spec: TaskSpecSchema,
  repo: z.string(),
  base: z.string(),
  baseCommit: z.string(),
  state: TaskStateSchema,
  stepId: z.string().optional(),
  stepIndex: z.number().int().nonnegative().optional(),
  stepCount: z.number().int().nonnegative().optional(),
  attempt: z.number().int().nonnegative(),
  waiting: z.object({ stage: z.enum(['plan', 'step', 'validate']), kind: z.string(), reason: z.string() }).optional(),
  pausedUntil: z.number().optional(),
  failure: z.string().optional(),
  branch: z.string().optional(),
  worktreePath: z.string().optional(),
  commits: z.array(z.object({ stepId: z.string(), sha: z.string() })),
  /** The approved (or latest) plan, kept after the task finishes for reports and summaries. */
  plan: PlanSchema.optional(),
  /** What the task's report steps found (analysis tasks deliver these instead of commits). */
  findings: z.array(StepFindingsSchema).optional(),
  /** The validator's last verdict on the branch (its checklist), once it answered. */
  validation: ValidationVerdictSchema.optional(),
  costUsd: z.number().nonnegative(),
  /** The part of `costUsd` priced from estimated token counts; reports mark it, never mix it in silently. */
  estimatedCostUsd: z.number().nonnegative().optional(),
  createdAt: z.number(),
  /** Start of the task's time limit: submission, or the last decision of a person. */
  activeSince: z.number().optional(),
  updatedAt: z.number(),
  finishedAt: z.number().optional(),
  /**
   * Actor invocations so far (see Checkpoint in role-executor.ts): with the task id, the key under
   * which a role service stores a call's result, so a restarted supervisor finds it again.
   */
  invocations: z.number().int().nonnegative().optional(),
  /** XState persisted snapshot; absent until the task first starts. */
  snapshot: z.unknown().optional(),
});
export type TaskRecord = z.infer<typeof TaskRecordSchema>;

export function taskKey(taskId: string): string {
  return `tasks.${taskId}`;
}

export const TASKS_PREFIX = 'tasks';
