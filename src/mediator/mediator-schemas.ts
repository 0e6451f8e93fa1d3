import { z } from 'zod';
import { AreaSchema, PrioritySchema, RiskSchema, TaskTypeSchema } from '../model/task-spec.js';
import type { StepFindings, ValidationVerdict } from '../model/role-outputs.js';

/**
 * What the mediator's model must answer. Every field is required (no defaults), so the JSON schema
 * given to Ollama as `format` makes the model fill each one instead of silently leaving it out.
 * The id is not the model's to choose: tandem assigns it.
 */
export const MediatorTaskSchema = z.strictObject({
  title: z.string().trim().min(1).max(120),
  goal: z.string().trim().min(1).max(4_000),
  type: TaskTypeSchema,
  risk: RiskSchema,
  area: AreaSchema,
  priority: PrioritySchema,
  /** Files to change, relative to the repository root. */
  target_files: z.array(z.string().trim().min(1)).max(30),
  /** Files to read for context; they must exist. */
  context_files: z.array(z.string().trim().min(1)).max(30),
  success_criteria: z.array(z.string().trim().min(1)).min(1).max(10),
  constraints: z.array(z.string().trim().min(1)).max(10),
});
export type MediatorTask = z.infer<typeof MediatorTaskSchema>;

const SummaryStatusSchema = z.enum(['SUCCESS', 'PARTIAL', 'FAILED', 'WAITING']);
export type SummaryStatus = z.infer<typeof SummaryStatusSchema>;

/** A finished task told to a busy person (seed 003): what happened, at most three points, next steps. */
export const MediatorSummarySchema = z.strictObject({
  status: SummaryStatusSchema,
  accomplished: z.string().trim().min(1).max(600),
  key_points: z.array(z.string().trim().min(1).max(300)).max(3),
  next_steps: z.array(z.string().trim().min(1).max(300)).max(3),
});
export type MediatorSummary = z.infer<typeof MediatorSummarySchema>;

/** What a summary may draw on: facts from the task record, nothing the model could invent. */
export interface SummaryFacts {
  readonly id: string;
  readonly title?: string | undefined;
  readonly goal: string;
  readonly state: string;
  readonly branch?: string | undefined;
  /** Commit shas on the task's branch, in order. */
  readonly commits: readonly string[];
  readonly steps: readonly { readonly id: string; readonly description: string; readonly committed: boolean }[];
  readonly stepCount?: number | undefined;
  readonly costUsd: number;
  /** The part of `costUsd` priced from estimated token counts. */
  readonly estimatedCostUsd?: number | undefined;
  readonly durationMs: number;
  /** Why it failed, was aborted or waits for a person. */
  readonly reason?: string | undefined;
  /** What the task's report steps found (an analysis task delivers these instead of commits). */
  readonly findings?: readonly StepFindings[] | undefined;
  /** The validator's last verdict on the branch. */
  readonly validation?: ValidationVerdict | undefined;
}
