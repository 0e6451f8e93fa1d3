import type { ErrorKind } from '../model/execution.js';
import type { Clock } from '../platform/clock.js';
import { RATE_LIMIT_WAIT_MS } from '../model/limits.js';

/**
 * Health of each model, shared by every task of the process: a circuit breaker (opens after
 * `failures` consecutive failed calls, lets one trial call through after `cooldownMs`, closes on
 * its success) and the rate-limit reset a backend announced. Time comes from the injected clock.
 */

type Availability = { readonly ok: true; readonly trial: boolean } | { readonly ok: false; readonly until: number; readonly reason: string };

export interface CircuitBreaker {
  availability(key: string): Availability;
  /** A call to `key` starts; in half-open state it becomes the one trial call. */
  begin(key: string): void;
  /** The result of one runner call. */
  record(key: string, outcome: { readonly success: boolean; readonly kind?: ErrorKind | undefined; readonly retryAfterMs?: number | undefined }): void;
  /** The call that began ended without a result that says anything about the model (cancelled). */
  abandon(key: string): void;
}

/** Failures that say the model (or its backend) is unwell; bad answers and refused edits do not. */
const unhealthy: ReadonlySet<ErrorKind> = new Set(['timeout', 'overloaded', 'crashed', 'auth', 'unavailable']);

interface Health {
  consecutive: number;
  openUntil?: number | undefined;
  trialInFlight: boolean;
  limitedUntil?: number | undefined;
}

export function createCircuitBreaker(options: { failures: number; cooldownMs: number; clock: Clock }): CircuitBreaker {
  const { clock } = options;
  const health = new Map<string, Health>();
  const of = (key: string): Health => {
    let h = health.get(key);
    if (!h) health.set(key, (h = { consecutive: 0, trialInFlight: false }));
    return h;
  };
  return {
    availability(key) {
      const h = health.get(key);
      const now = clock.now();
      if (!h) return { ok: true, trial: false };
      if (h.limitedUntil !== undefined && h.limitedUntil > now)
        return { ok: false, until: h.limitedUntil, reason: `rate limited until ${new Date(h.limitedUntil).toISOString()}` };
      if (h.openUntil === undefined) return { ok: true, trial: false };
      if (now < h.openUntil)
        return { ok: false, until: h.openUntil, reason: `circuit open after ${h.consecutive} failed calls, until ${new Date(h.openUntil).toISOString()}` };
      if (h.trialInFlight) return { ok: false, until: now + options.cooldownMs, reason: 'circuit half-open: a trial call is in flight' };
      return { ok: true, trial: true };
    },
    begin(key) {
      const h = of(key);
      if (h.openUntil !== undefined && clock.now() >= h.openUntil) h.trialInFlight = true;
    },
    record(key, outcome) {
      const h = of(key);
      if (outcome.success) {
        h.consecutive = 0;
        h.openUntil = undefined;
        h.trialInFlight = false;
        return;
      }
      if (outcome.kind === 'rate_limit') {
        h.limitedUntil = clock.now() + (outcome.retryAfterMs ?? RATE_LIMIT_WAIT_MS);
        h.trialInFlight = false;
        return;
      }
      if (outcome.kind === undefined || !unhealthy.has(outcome.kind)) {
        // The model answered; its answer was just not usable. That is not ill health.
        h.consecutive = 0;
        if (h.trialInFlight) {
          h.openUntil = undefined;
          h.trialInFlight = false;
        }
        return;
      }
      h.consecutive++;
      if (h.trialInFlight || h.consecutive >= options.failures) h.openUntil = clock.now() + options.cooldownMs;
      h.trialInFlight = false;
    },
    abandon(key) {
      const h = health.get(key);
      if (h) h.trialInFlight = false;
    },
  };
}
