import { describe, expect, it } from 'vitest';
import { applyRetryPolicy, nextRetry, retryDelay, withoutRetries, type RetryPolicy } from '../../src/roles/retry-policy.js';
import { rolePolicies, tryPolicies } from '../../src/roles/retry-policies.js';
import { manualClock } from '../helpers/manual-clock.js';

const policy: RetryPolicy<'timeout' | 'auth'> = {
  initialIntervalMs: 100,
  backoffCoefficient: 3,
  maximumIntervalMs: 1_000,
  maximumAttempts: 4,
  nonRetryableKinds: ['auth'],
};
const limits = { max_output_repairs: 2, max_transient_retries: 2, retry_base_delay_ms: 1_000 };

describe('retryDelay', () => {
  it('grows by the coefficient up to the maximum interval, exact without jitter', () => {
    expect([0, 1, 2, 3].map((retry) => retryDelay(policy, retry, () => 0.5))).toEqual([100, 300, 900, 1_000]);
  });

  it('keeps the upper half random with equal jitter', () => {
    const jittered = { ...policy, jitter: 'equal' as const };
    expect([0, 1, 2].map((retry) => retryDelay(jittered, retry, () => 0))).toEqual([50, 150, 450]);
    expect([0, 1, 2].map((retry) => retryDelay(jittered, retry, () => 1))).toEqual([100, 300, 900]);
  });

  it('draws no random number for a policy without jitter', () => {
    let draws = 0;
    retryDelay(policy, 1, () => (draws++, 0.5));
    expect(draws).toBe(0);
  });
});

describe('nextRetry', () => {
  it('stops a non-retryable kind at once, whatever attempts are left', () => {
    expect(nextRetry(policy, { attempt: 1, kind: 'auth' }, () => 0)).toEqual({ retry: false, reason: 'non_retryable' });
  });

  it('bounds the attempts: maximumAttempts counts the first one', () => {
    const verdicts = [1, 2, 3, 4].map((attempt) => nextRetry(policy, { attempt, kind: 'timeout' }, () => 0));
    expect(verdicts).toEqual([
      { retry: true, delayMs: 100 },
      { retry: true, delayMs: 300 },
      { retry: true, delayMs: 900 },
      { retry: false, reason: 'attempts_exhausted' },
    ]);
    expect(nextRetry(withoutRetries(policy), { attempt: 1, kind: 'timeout' }, () => 0)).toEqual({ retry: false, reason: 'attempts_exhausted' });
  });
});

describe('applyRetryPolicy', () => {
  it('waits the delay on the injected clock before a retry', async () => {
    const clock = manualClock();
    const pending = applyRetryPolicy(policy, { attempt: 2, kind: 'timeout' }, { clock, signal: new AbortController().signal, random: () => 0 });
    expect(clock.sleeps).toEqual([300]);
    clock.advance(300);
    expect(await pending).toBe('retry');
  });

  it('retries at once, without a timer, when a policy without jitter has no interval', async () => {
    const clock = manualClock();
    const immediate = { ...policy, initialIntervalMs: 0 };
    expect(await applyRetryPolicy(immediate, { attempt: 1, kind: 'timeout' }, { clock, signal: new AbortController().signal, random: () => 0 })).toBe('retry');
    expect(clock.sleeps).toEqual([]);
  });

  it('stops without waiting, and reports a cancellation during the wait', async () => {
    const clock = manualClock();
    const controller = new AbortController();
    expect(await applyRetryPolicy(policy, { attempt: 4, kind: 'timeout' }, { clock, signal: controller.signal, random: () => 0 })).toBe('stop');
    expect(clock.sleeps).toEqual([]);
    const pending = applyRetryPolicy(policy, { attempt: 1, kind: 'timeout' }, { clock, signal: controller.signal, random: () => 0 });
    controller.abort();
    expect(await pending).toBe('cancelled');
  });
});

describe('the role-call policies', () => {
  it('default to the limits: transient backoff with equal jitter, repairs at once, one fallback per model', () => {
    const policies = rolePolicies(limits, 3);
    expect(policies.transient).toMatchObject({
      initialIntervalMs: 1_000,
      backoffCoefficient: 2,
      maximumIntervalMs: 1_024_000,
      maximumAttempts: 3,
      jitter: 'equal',
    });
    expect([...policies.transient.nonRetryableKinds].sort()).toEqual([
      'auth',
      'bad_output',
      'cancelled',
      'no_progress',
      'permission_denied',
      'rate_limit',
      'unavailable',
    ]);
    expect(policies.outputRepair).toEqual({ initialIntervalMs: 0, backoffCoefficient: 1, maximumAttempts: 3, nonRetryableKinds: [] });
    expect(policies.fallback.maximumAttempts).toBe(4);
    expect([...policies.fallback.nonRetryableKinds].sort()).toEqual(['bad_output', 'budget', 'cancelled', 'no_progress', 'permission_denied']);
    expect(tryPolicies(limits).transient).toEqual(policies.transient);
  });
});
