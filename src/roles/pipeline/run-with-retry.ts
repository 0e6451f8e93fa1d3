import type { AgentRunner } from '../../runners/agent-runner.js';
import type { ExecutionResult, RunRequest } from '../../model/execution.js';
import type { ParseResult } from '../parse-output.js';
import type { Clock } from '../../platform/clock.js';
import type { RoleResult } from '../../model/role-contracts.js';
import { applyRetryPolicy } from '../retry-policy.js';
import { tryPolicies, type RetryLimits, type TryPolicies } from '../retry-policies.js';

type WithoutModel<R> = R extends unknown ? Omit<R, 'model' | 'costUsd' | 'estimatedUsd' | 'retryAt'> : never;

/**
 * One model's share of a role call: the role's result before the pipeline adds which model it
 * was and what it cost, with the tries that made it (every runner result, for the events).
 */
export type RoleOutcome<T> = WithoutModel<RoleResult<T>> & { readonly tries: number; readonly results: readonly ExecutionResult[] };

export interface RoleCallInput<T> {
  readonly runner: AgentRunner;
  readonly request: Omit<RunRequest, 'try'>;
  /** Parses the answer; a parser that never fails accepts any text (the implementer's explanation). */
  readonly parse: (response: string) => ParseResult<T>;
  readonly clock: Clock;
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

/** The retry policies of the call, or the limits that give today's defaults. */
type PolicySource = { readonly policies: TryPolicies } | { readonly limits: RetryLimits };

/**
 * Calls a role until it gives a usable answer, under two policies that share the call's tries:
 * invalid output is sent back with the validation error (`outputRepair`), and transient errors
 * are retried after a backoff (`transient`). Rate limits are returned at once so the supervisor
 * can pause the task instead of burning retries. Failures are values, never thrown.
 */
export async function callRole<T>(input: RoleCallInput<T> & PolicySource): Promise<RoleOutcome<T>> {
  const { runner, request, parse, clock, signal } = input;
  const policies = 'policies' in input ? input.policies : tryPolicies(input.limits);
  const random = input.random ?? Math.random;
  const results: ExecutionResult[] = [];
  // Each layer counts its own attempts: a repair does not use up a transient retry, nor the reverse.
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
      const next = await applyRetryPolicy(policies.transient, { attempt: transient + 1, kind }, { clock, signal, random });
      if (next === 'cancelled') return { ok: false, kind: 'cancelled', error: 'cancelled', tries, results };
      if (next === 'retry') {
        transient++;
        continue;
      }
      return { ok: false, kind, error, retryAfterMs: result.retry_after_ms, tries, results };
    }
    const parsed = parse(result.response);
    if (parsed.ok) return { ok: true, value: parsed.value, tries, results };
    const next = await applyRetryPolicy(policies.outputRepair, { attempt: repairs + 1, kind: 'bad_output' }, { clock, signal, random });
    if (next === 'cancelled') return { ok: false, kind: 'cancelled', error: 'cancelled', tries, results };
    if (next === 'stop') return { ok: false, kind: 'bad_output', error: parsed.error, tries, results };
    repairs++;
    prompt = `${request.prompt}\n\n## Your previous answer was rejected\n${parsed.error}\nAnswer again with ONLY the JSON object, no prose and no code fences.`;
  }
}
