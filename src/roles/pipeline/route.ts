import type { ModelRef } from '../../model/execution.js';
import type { Clock } from '../../platform/clock.js';
import { parseModelKey } from '../../routing/model-registry.js';
import type { RouteDecision, RouteRefusal } from '../../routing/router.js';
import type { Routing } from '../../routing/routing.js';
import type { Logger } from '../../telemetry/logger.js';
import { RATE_LIMIT_WAIT_MS } from '../../model/limits.js';
import type { RoleCallRequest, RoleFailure } from './types.js';

/** Where a call stands in its fallback chain: the model that just failed, and every model tried. */
export interface FallbackHop {
  readonly fallbackFrom?: { readonly name: string; readonly reason: string } | undefined;
  readonly tried: readonly string[];
}

/** A refusal names no model; events and the task record still need one. */
const noModel: ModelRef = { provider: 'none', model: 'none', runner: 'none' };

/**
 * Before a call is routed: the ledger and history are loaded, and in distributed mode the spend of
 * other processes is read, since they spend too. A failed look keeps the spend known so far.
 */
export async function readyToRoute(routing: Routing, request: RoleCallRequest<unknown>, logger?: Logger): Promise<void> {
  await routing.ready();
  await routing.ledger
    .sync()
    .catch((error: unknown) =>
      logger?.warn({ err: error, task: request.taskId, role: request.role }, 'could not read the spend of other processes; budgets use what this one knows'),
    );
}

/** Picks the model for one hop: pin, matrix or history; diversity; budgets; the fallback chain. */
export function routeHop(routing: Routing, request: RoleCallRequest<unknown>, hop: FallbackHop): RouteDecision {
  return routing.router.route({
    role: request.role,
    task: request.task,
    step: request.step,
    author: request.authorModel === undefined ? undefined : parseModelKey(request.authorModel),
    promptChars: request.prompt.length,
    budgetGrantUsd: request.budgetGrantUsd,
    fallbackFrom: hop.fallbackFrom,
    tried: hop.tried,
  });
}

/** The role result of a call no model may take. */
export function refusalFailure(decision: RouteRefusal, clock: Clock): RoleFailure {
  const model = decision.preferred ?? noModel;
  switch (decision.kind) {
    case 'budget':
      return { ok: false, kind: 'budget', error: decision.reason, model, costUsd: 0 };
    case 'unavailable': {
      // Every fit model is rate limited or its circuit is open: wait like a rate limit, spending no attempt.
      const retryAt = decision.retryAt ?? clock.now() + RATE_LIMIT_WAIT_MS;
      return { ok: false, kind: 'rate_limit', error: decision.reason, retryAfterMs: Math.max(0, retryAt - clock.now()), retryAt, model, costUsd: 0 };
    }
    case 'none':
      return { ok: false, kind: 'crashed', error: decision.reason, model, costUsd: 0 };
  }
}
