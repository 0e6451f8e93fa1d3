import { z } from 'zod';

export const RoleSchema = z.enum(['planner', 'plan-reviewer', 'implementer', 'code-reviewer', 'validator', 'mediator']);
export type Role = z.infer<typeof RoleSchema>;

export const ErrorKindSchema = z.enum([
  'rate_limit',
  'timeout',
  'auth',
  'overloaded',
  'bad_output',
  'crashed',
  'cancelled',
  'permission_denied',
  'no_progress',
  // The runner cannot run here at all (binary missing, version never tested, no such runner): a retry
  // cannot help, another model may, and otherwise a person must fix the machine.
  'unavailable',
]);
export type ErrorKind = z.infer<typeof ErrorKindSchema>;

/** Kinds a retry can cure; `rate_limit` is handled by pausing instead (DESIGN §3). */
export const retryableErrorKinds: ReadonlySet<ErrorKind> = new Set(['timeout', 'overloaded', 'crashed']);

/** Which model a call goes to. `runner` names the AgentRunner adapter that speaks to it. */
export const ModelRefSchema = z.object({
  provider: z.string().min(1),
  model: z.string().min(1),
  runner: z.string().min(1),
});
export type ModelRef = z.infer<typeof ModelRefSchema>;

/**
 * One call of a role. `attempt` counts the lifecycle's attempts at the step (or plan rounds);
 * `try` counts repeats inside one attempt (invalid output fed back, transient errors), so an
 * answer can be chosen deterministically from the request alone.
 */
export const RunRequestSchema = z.object({
  role: RoleSchema,
  taskId: z.string(),
  stepId: z.string().optional(),
  attempt: z.number().int().positive(),
  try: z.number().int().nonnegative(),
  prompt: z.string(),
  /** JSON Schema of the expected structured answer, for runners that can enforce one. */
  outputSchema: z.record(z.string(), z.unknown()).optional(),
  /** Working directory: the task's worktree. */
  cwd: z.string(),
  model: ModelRefSchema,
  /** Whether the role may edit files (only the implementer). */
  allowEdits: z.boolean(),
  timeoutMs: z.number().int().positive(),
});
export type RunRequest = z.infer<typeof RunRequestSchema>;

/** DESIGN §4: every runner call returns one of these, with real token counts where the backend reports them. */
export const ExecutionResultSchema = z.object({
  provider: z.string(),
  model: z.string(),
  role: RoleSchema,
  response: z.string(),
  tokens_input: z.number().int().nonnegative(),
  tokens_output: z.number().int().nonnegative(),
  /** True when the backend did not report token counts and they were estimated. */
  tokens_estimated: z.boolean().default(false),
  cost_usd: z.number().nonnegative(),
  latency_ms: z.number().nonnegative(),
  success: z.boolean(),
  error: z.string().optional(),
  error_kind: ErrorKindSchema.optional(),
  retry_after_ms: z.number().nonnegative().optional(),
  /** HTTP status of the model API's error, when the backend reported one. */
  http_status: z.number().int().optional(),
  /** Where `cost_usd` comes from: the backend's own figure, tokens × the price table, or no known price (0). */
  cost_source: z.enum(['reported', 'price_table', 'unpriced']).optional(),
  /** File holding the backend's raw event stream of this call (kept when the call was killed). */
  transcript: z.string().optional(),
  /** Runner label shown to people; the scripted runner says so here. */
  runner: z.string(),
  /**
   * Not a new call: the stored answer of a call made before a role service died (distributed mode).
   * It was paid and counted then; the ledger and the circuit breakers skip it now.
   */
  replayed: z.boolean().optional(),
});
export type ExecutionResult = z.infer<typeof ExecutionResultSchema>;
