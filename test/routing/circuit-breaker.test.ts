import { describe, expect, it } from 'vitest';
import { createCircuitBreaker } from '../../src/routing/circuit-breaker.js';
import { manualClock } from '../helpers/manual-clock.js';

describe('circuit breaker per model (injected clock)', () => {
  const setup = () => {
    const clock = manualClock(0);
    return { clock, breaker: createCircuitBreaker({ failures: 3, cooldownMs: 10_000, clock }) };
  };

  it('opens after N consecutive failures, half-opens after the cool-down, and closes on a good trial', () => {
    const { clock, breaker } = setup();
    breaker.record('flash', { success: false, kind: 'timeout' });
    breaker.record('flash', { success: false, kind: 'overloaded' });
    expect(breaker.availability('flash')).toEqual({ ok: true, trial: false });
    breaker.record('flash', { success: false, kind: 'crashed' });
    expect(breaker.availability('flash')).toEqual({ ok: false, until: 10_000, reason: 'circuit open after 3 failed calls, until 1970-01-01T00:00:10.000Z' });
    expect(breaker.availability('haiku')).toEqual({ ok: true, trial: false });
    clock.advance(9_999);
    expect(breaker.availability('flash').ok).toBe(false);
    clock.advance(1);
    expect(breaker.availability('flash')).toEqual({ ok: true, trial: true });
    breaker.begin('flash');
    // While the one trial call runs, nobody else gets through.
    expect(breaker.availability('flash')).toEqual({ ok: false, until: 20_000, reason: 'circuit half-open: a trial call is in flight' });
    breaker.record('flash', { success: true });
    expect(breaker.availability('flash')).toEqual({ ok: true, trial: false });
  });

  it('re-opens for another cool-down when the trial fails', () => {
    const { clock, breaker } = setup();
    for (let i = 0; i < 3; i++) breaker.record('m', { success: false, kind: 'timeout' });
    clock.advance(10_000);
    breaker.begin('m');
    breaker.record('m', { success: false, kind: 'timeout' });
    expect(breaker.availability('m')).toMatchObject({ ok: false, until: 20_000 });
    clock.advance(10_000);
    expect(breaker.availability('m')).toEqual({ ok: true, trial: true });
  });

  it('a success in between resets the count; bad answers are not ill health', () => {
    const { breaker } = setup();
    breaker.record('m', { success: false, kind: 'timeout' });
    breaker.record('m', { success: false, kind: 'timeout' });
    breaker.record('m', { success: true });
    breaker.record('m', { success: false, kind: 'timeout' });
    breaker.record('m', { success: false, kind: 'bad_output' });
    breaker.record('m', { success: false, kind: 'timeout' });
    breaker.record('m', { success: false, kind: 'timeout' });
    expect(breaker.availability('m').ok).toBe(true);
  });

  it('keeps a rate-limited model out until its reset time, without counting a failure', () => {
    const { clock, breaker } = setup();
    breaker.record('sonnet', { success: false, kind: 'rate_limit', retryAfterMs: 30_000 });
    expect(breaker.availability('sonnet')).toEqual({ ok: false, until: 30_000, reason: 'rate limited until 1970-01-01T00:00:30.000Z' });
    clock.advance(30_000);
    expect(breaker.availability('sonnet')).toEqual({ ok: true, trial: false });
  });

  it('an abandoned trial lets the next call try', () => {
    const { clock, breaker } = setup();
    for (let i = 0; i < 3; i++) breaker.record('m', { success: false, kind: 'auth' });
    clock.advance(10_000);
    breaker.begin('m');
    breaker.abandon('m');
    expect(breaker.availability('m')).toEqual({ ok: true, trial: true });
  });
});
