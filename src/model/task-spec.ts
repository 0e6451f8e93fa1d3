import { z } from 'zod';

export const Risk = { high: 'high', medium: 'medium', low: 'low' } as const;
export const RiskSchema = z.enum(['high', 'medium', 'low']);
export type Risk = z.infer<typeof RiskSchema>;

/** Areas from seed 002's tasks and routing matrix, plus `general` for task files that do not say. */
export const AreaSchema = z.enum(['core', 'math', 'api', 'services', 'docs', 'comments', 'tests', 'general']);
export type Area = z.infer<typeof AreaSchema>;

export const PrioritySchema = z.enum(['high', 'medium', 'low']);
export type Priority = z.infer<typeof PrioritySchema>;

export const TaskTypeSchema = z.enum(['feature', 'fix', 'refactor', 'docs', 'test', 'code_review', 'summarize', 'analyze', 'validation', 'chore']);
export type TaskType = z.infer<typeof TaskTypeSchema>;

/** Task types that ask for a report, not a change: every step of such a task answers with findings. */
export const REPORT_TASK_TYPES: ReadonlySet<TaskType> = new Set(['analyze', 'summarize', 'code_review', 'validation']);

/** Task ids become branch names (`tandem/<id>`) and bus subject tokens, so they are restricted. */
export const TaskIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'must be 1-64 letters, digits, "-" or "_", starting with a letter or digit');

/** Where a task came from, so every later error can point back to the file and line. */
const TaskSourceSchema = z.object({
  file: z.string(),
  line: z.number().int().positive().optional(),
  /**
   * Line of each field checked after parsing (`repo`, `base`, `context_files[2]`, …), so that a
   * problem found against the repository points at the field, not at the task's first line.
   */
  fields: z.record(z.string(), z.number().int().positive()).optional(),
});

/**
 * The normalized task every intake path (tasks.yaml, *.task.md, Telegram, NATS) produces.
 * Paths in `context_files` and `target_files` are relative to the repository root.
 */
export const TaskSpecSchema = z.strictObject({
  id: TaskIdSchema,
  goal: z.string().trim().min(1, 'must not be empty'),
  title: z.string().optional(),
  type: TaskTypeSchema.default('feature'),
  risk: RiskSchema.default('medium'),
  area: AreaSchema.default('general'),
  priority: PrioritySchema.default('medium'),
  /** Repository path (absolute, or relative to the task file's folder). Defaults to `--repo` or the cwd. */
  repo: z.string().min(1).optional(),
  /** Base branch to work from; defaults to the repository's current branch. */
  base: z.string().min(1).optional(),
  context_files: z.array(z.string().min(1)).default([]),
  target_files: z.array(z.string().min(1)).default([]),
  /** Tasks that must be DONE before this one starts (seed 002 phase 4); a cycle or an unknown id is bad input. */
  depends_on: z.array(TaskIdSchema).default([]),
  constraints: z.array(z.string().min(1)).default([]),
  success_criteria: z.array(z.string().min(1)).default([]),
  context: z.string().optional(),
  /** Budget for this task in USD; the routing issue enforces it. */
  budget_usd: z.number().nonnegative().optional(),
  /** Wall-clock limit for the whole task; past it the task waits for a person. */
  time_limit_minutes: z.number().positive().default(360),
  /** The task may remove public exports: the gate lets a breaking API change pass instead of asking a person. */
  allow_breaking: z.boolean().optional(),
  /** Minimum line coverage in percent every step must keep (over the gate's `min_line_coverage`). */
  coverage_min: z.number().min(0).max(100).optional(),
  created: z.string().optional(),
  source: TaskSourceSchema.optional(),
});
export type TaskSpec = z.infer<typeof TaskSpecSchema>;
export type TaskSpecInput = z.input<typeof TaskSpecSchema>;
