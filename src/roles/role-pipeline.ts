import { jsonSchemaOf } from './prompts/common.js';
import type { AgentRunner } from '../runners/agent-runner.js';
import type { RoleResult } from '../model/role-contracts.js';
import type { RouteChoice } from '../routing/router.js';
import { holdBudget } from './pipeline/budget-hold.js';
import { watchModel } from './pipeline/breaker.js';
import { eventPublisher, publishFinished, publishRefused, publishStarted, type ShareUsage } from './pipeline/events.js';
import { withFallback, type HopOutcome } from './pipeline/fallback.js';
import { callCost, shareLedger } from './pipeline/ledger.js';
import { readyToRoute, refusalFailure, routeHop } from './pipeline/route.js';
import { callRole, type RoleOutcome } from './pipeline/run-with-retry.js';
import type { PipelineDeps, RoleCallRequest } from './pipeline/types.js';
import { withoutRetries } from './retry-policy.js';
import { rolePolicies } from './retry-policies.js';
import { rateLimitPauses } from './pipeline/rate-limit-pauses.js';

/** Makes one role call, start to finish; failures are values, never thrown (a lost ledger write is). */
export type RoleCaller = <T>(request: RoleCallRequest<T>) => Promise<RoleResult<T>>;

/**
 * The role-call pipeline, composed here and only here. A call is:
 *
 * 1. route: the model for the call (pin, matrix or history; diversity; budgets), after reading the
 *    spend of other processes; a refusal is published and ends the call;
 * 2. fallback: on a failure another model may not share, the failed model's chain gets the call;
 * then for each model's share of it:
 * 3. events: role.started (with the routing decision), and role.finished at the end;
 * 4. budget hold: the estimate counts against the budgets while the call runs;
 * 5. limit: a slot within the model's concurrency limit;
 * 6. breaker: the model's circuit breaker sees every try;
 * 7. ledger: every runner call recorded, durable before the result moves the machine;
 * 8. run with retry: repairs of invalid output and retries of transient errors.
 */
export function createRolePipeline(deps: PipelineDeps): RoleCaller {
  const { routing, clock } = deps;
  const publish = eventPublisher(deps.bus);
  const random = deps.random ?? Math.random;
  const policies = rolePolicies(deps.limits, routing.registry.names().length);
  // A fallback model gets no transient retries of its own (seed 000: "no retries on fallback").
  const fallbackTries = { ...policies, transient: withoutRetries(policies.transient) };
  const pauses = rateLimitPauses(policies.rateLimit, random);

  /** One model's share of a role call, with its own role.started / role.finished pair. */
  async function callModel<T>(
    request: RoleCallRequest<T>,
    decision: RouteChoice,
    runner: AgentRunner,
    afterFailure: boolean,
  ): Promise<{ outcome: RoleOutcome<T>; usage: ShareUsage }> {
    const started = clock.now();
    publishStarted(publish, request, decision, runner, started, deps.logger);
    const ledger = shareLedger(routing, request, decision);
    const watch = watchModel(routing.breaker, decision.key);
    const hold = holdBudget(routing, request, decision);
    let release: (() => void) | undefined;
    let outcome: RoleOutcome<T>;
    try {
      release = await routing.limiter.acquire(decision.key, request.signal);
      watch.begin();
      outcome = await callRole<T>({
        runner,
        request: {
          role: request.role,
          taskId: request.taskId,
          stepId: request.stepId,
          attempt: request.attempt,
          prompt: request.prompt,
          outputSchema: request.schema ? jsonSchemaOf(request.schema) : undefined,
          cwd: request.cwd,
          model: decision.ref,
          allowEdits: request.role === 'implementer',
          timeoutMs: deps.limits.role_timeout_ms,
        },
        parse: request.parse,
        clock,
        policies: afterFailure ? fallbackTries : policies,
        signal: request.signal,
        random: deps.random,
        beforeRetry: (prompt) => hold.beforeRetry(prompt),
        onResult: (result, tryIndex) => {
          hold.release();
          const entry = ledger.record(result, tryIndex);
          watch.record(result);
          if (entry !== undefined) deps.onCall?.({ taskId: request.taskId, stepId: request.stepId, result, entry });
        },
      });
    } catch {
      // Only the wait for a slot throws: the call was cancelled before it started.
      watch.abandon();
      outcome = { ok: false, kind: 'cancelled', error: 'cancelled', tries: 0, results: [] };
    } finally {
      hold.release();
      release?.();
    }
    await ledger.flush();
    const usage = ledger.usage();
    publishFinished(publish, request, { model: decision.ref, runner, started, outcome, usage }, clock);
    return { outcome, usage };
  }

  return async function call<T>(request: RoleCallRequest<T>): Promise<RoleResult<T>> {
    await readyToRoute(routing, request, deps.logger);
    const cost = callCost();
    const result = await withFallback<T>(policies.fallback, { clock, signal: request.signal, random }, async (hop): Promise<HopOutcome<T>> => {
      const decision = routeHop(routing, request, hop);
      if (!decision.ok) {
        publishRefused(publish, request, decision, clock.now(), deps.logger);
        return { kind: 'refused', failure: refusalFailure(decision, clock) };
      }
      const runner = deps.runners.get(decision.ref.runner);
      if (!runner)
        return {
          kind: 'done',
          result: { ok: false, kind: 'unavailable', error: `no runner named "${decision.ref.runner}" is configured`, model: decision.ref, costUsd: 0 },
        };
      const { outcome, usage } = await callModel(request, decision, runner, hop.fallbackFrom !== undefined);
      cost.add(usage);
      // Anything but another rate limit ends the streak of them.
      if (outcome.ok || outcome.kind !== 'rate_limit') pauses.answered(request.taskId, decision.key);
      if (outcome.ok) {
        return { kind: 'done', result: { ok: true, value: outcome.value, model: decision.ref, costUsd: 0 } };
      }
      // A rate limit dates its retry: the backend's own wait, else one that grows while the limit keeps coming back.
      const pauseMs = outcome.kind === 'rate_limit' ? pauses.next(request.taskId, decision.key, outcome.retryAfterMs) : undefined;
      const failure = {
        ok: false,
        kind: outcome.kind,
        error: outcome.error,
        retryAfterMs: pauseMs ?? outcome.retryAfterMs,
        retryAt: pauseMs === undefined ? undefined : clock.now() + pauseMs,
        model: decision.ref,
        costUsd: 0,
      } as const;
      return { kind: 'failed', failure, key: decision.key, name: decision.name };
    });
    // Every model the chain tried is paid for by the call, whichever way it ended.
    return { ...result, ...cost.usd() };
  };
}
