import { z } from 'zod';

/** How far the supervisor and the role calls may go before a person is asked: shared by the machine, the roles and the runtime. */
export const LimitsSchema = z.strictObject({
  /** Attempts per step (and planner calls per plan round) before a person is asked. */
  max_attempts: z.number().int().min(1).max(20).default(3),
  /** Plan review rounds that may ask for a revision before a person is asked. */
  max_plan_rounds: z.number().int().min(1).max(10).default(3),
  /** Invalid model output fed back to the model before the attempt counts as failed. */
  max_output_repairs: z.number().int().min(0).max(5).default(2),
  /** Retries of transient runner errors (timeout, overloaded, crashed) within one attempt. */
  max_transient_retries: z.number().int().min(0).max(10).default(2),
  retry_base_delay_ms: z.number().int().nonnegative().default(1_000),
  role_timeout_ms: z
    .number()
    .int()
    .positive()
    .default(30 * 60_000),
  /** After the last step, a validator on another provider checks the branch against the goal, constraints and success criteria. */
  validate: z.boolean().default(true),
  /** A validator verdict less sure than this waits for a person instead of passing or failing the task. */
  validation_min_confidence: z.number().min(0).max(1).default(0.5),
  /** Failed validations sent back to the implementer as a fix-up before a person is asked. */
  max_validation_rounds: z.number().int().min(1).max(10).default(2),
  /** Longest rate-limit pause honoured before a person is asked instead. */
  max_pause_ms: z
    .number()
    .int()
    .positive()
    .default(6 * 3_600_000),
});
export type Limits = z.infer<typeof LimitsSchema>;

/**
 * How long a rate-limited call waits when its backend named no time, the first time: the first step of
 * the role pipeline's growing pauses (roles/retry-policies.ts: 30 s, 1, 2, 4, then 5 min per consecutive
 * rate limit of a task on a model), what a model's circuit breaker assumes for other tasks, and what the
 * supervisor's pause guard assumes when a failure carries no wait.
 */
export const RATE_LIMIT_WAIT_MS = 30_000;
