import type { z } from 'zod';
import type { Clock } from '../platform/clock.js';
import type { Limits } from '../model/limits.js';
import { retryableErrorKinds, type ErrorKind, type ExecutionResult, type RunRequest } from '../model/execution.js';
import type { AgentRunner } from '../runners/agent-runner.js';
import { parseStructured } from './parse-output.js';

/** The outcome of one role call, after its own repairs and transient retries. Failures are values. */
export type RoleOutcome<T> =
  | { readonly ok: true; readonly value: T; readonly tries: number; readonly results: readonly ExecutionResult[] }
  | {
      readonly ok: false;
      /** `budget`: a repair or retry would have exceeded a budget (see `beforeRetry`). */
      readonly kind: ErrorKind | 'budget';
      readonly error: string;
      readonly retryAfterMs?: number | undefined;
      readonly tries: number;
      readonly results: readonly ExecutionResult[];
    };

export interface RoleCallInput<T> {
  readonly runner: AgentRunner;
  readonly request: Omit<RunRequest, 'try'>;
  /** Parses the answer; `undefined` accepts any text (the implementer's free-form explanation). */
  readonly parse: (response: string) => { ok: true; value: T } | { ok: false; error: string };
  readonly clock: Clock;
  readonly limits: Pick<Limits, 'max_output_repairs' | 'max_transient_retries' | 'retry_base_delay_ms'>;
  readonly signal: AbortSignal;
  /** Called after every runner call, for the ledger, events and metrics. */
  readonly onResult?: (result: ExecutionResult, tryIndex: number) => void;
  /** Random source for jitter; injected so tests are deterministic. */
  readonly random?: () => number;
  /**
   * Asked before every paid try after the first (a repair or a transient retry), with the prompt it
   * would send: a reason stops the call as `budget` instead of spending past a budget.
   */
  readonly beforeRetry?: (prompt: string) => string | undefined;
}

export function schemaParser<S extends z.ZodType>(schema: S): (response: string) => { ok: true; value: z.infer<S> } | { ok: false; error: string } {
  return (response) => parseStructured(response, schema);
}

/**
 * Calls a role until it gives a usable answer: invalid output is sent back with the validation
 * error (at most `max_output_repairs` times) and transient errors are retried with exponential
 * backoff and equal jitter. Rate limits are returned at once so the supervisor can pause the task
 * instead of burning retries.
 */
export async function callRole<T>(input: RoleCallInput<T>): Promise<RoleOutcome<T>> {
  const { runner, request, parse, clock, limits, signal } = input;
  const random = input.random ?? Math.random;
  const results: ExecutionResult[] = [];
  let repairs = 0;
  let transient = 0;
  let prompt = request.prompt;
  for (let tryIndex = 0; ; tryIndex++) {
    if (signal.aborted) return { ok: false, kind: 'cancelled', error: 'cancelled', tries: tryIndex, results };
    const refusal = tryIndex > 0 ? input.beforeRetry?.(prompt) : undefined;
    if (refusal !== undefined) return { ok: false, kind: 'budget', error: refusal, tries: tryIndex, results };
    const result = await runner.run({ ...request, prompt, try: tryIndex }, { signal });
    results.push(result);
    input.onResult?.(result, tryIndex);
    const tries = tryIndex + 1;
    if (!result.success) {
      const kind = result.error_kind ?? 'crashed';
      const error = result.error ?? `the ${request.role} call failed (${kind})`;
      if (retryableErrorKinds.has(kind) && transient < limits.max_transient_retries) {
        const delay = backoffDelay(transient, limits.retry_base_delay_ms, random);
        transient++;
        try {
          await clock.sleep(delay, signal);
        } catch {
          return { ok: false, kind: 'cancelled', error: 'cancelled', tries, results };
        }
        continue;
      }
      return { ok: false, kind, error, retryAfterMs: result.retry_after_ms, tries, results };
    }
    const parsed = parse(result.response);
    if (parsed.ok) return { ok: true, value: parsed.value, tries, results };
    if (repairs >= limits.max_output_repairs) {
      return { ok: false, kind: 'bad_output', error: parsed.error, tries, results };
    }
    repairs++;
    prompt = `${request.prompt}\n\n## Your previous answer was rejected\n${parsed.error}\nAnswer again with ONLY the JSON object, no prose and no code fences.`;
  }
}

/**
 * Exponential backoff with "equal jitter" (AWS architecture blog): half the step is fixed so a retry
 * never comes at once, the other half random so the retries of many tasks spread out.
 */
export function backoffDelay(retry: number, baseMs: number, random: () => number): number {
  const cap = baseMs * 2 ** Math.min(retry, 10);
  return Math.round(cap / 2 + (random() * cap) / 2);
}
