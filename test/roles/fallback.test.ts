import { describe, expect, it } from 'vitest';
import type { RoleFailureKind } from '../../src/model/role-contracts.js';
import { withFallback, type HopOutcome } from '../../src/roles/pipeline/fallback.js';
import type { FallbackHop } from '../../src/roles/pipeline/route.js';
import type { RoleFailure } from '../../src/roles/pipeline/types.js';
import type { RetryPolicy } from '../../src/roles/retry-policy.js';
import { manualClock } from '../helpers/manual-clock.js';

const policy: RetryPolicy<RoleFailureKind> = { initialIntervalMs: 0, backoffCoefficient: 1, maximumAttempts: 3, nonRetryableKinds: ['bad_output'] };
const model = { provider: 'p', model: 'm', runner: 'r' };
const failure = (kind: RoleFailureKind, error: string = kind): RoleFailure => ({ ok: false, kind, error, model, costUsd: 0 });
const context = () => ({ clock: manualClock(), signal: new AbortController().signal, random: () => 0 });

/** Hops that answer from a list, recording where each one stood in the chain. */
function hops(outcomes: HopOutcome<string>[]) {
  const seen: { fallbackFrom?: string | undefined; tried: string[] }[] = [];
  const hop = (at: FallbackHop): Promise<HopOutcome<string>> => {
    seen.push({ fallbackFrom: at.fallbackFrom?.name, tried: [...at.tried] });
    const next = outcomes.shift();
    if (!next) throw new Error('no hop left');
    return Promise.resolve(next);
  };
  return { hop, seen };
}

describe('withFallback', () => {
  it('passes a failure another model may not share down the chain, each model once', async () => {
    const { hop, seen } = hops([
      { kind: 'failed', failure: failure('timeout'), key: 'a', name: 'a' },
      { kind: 'done', result: { ok: true, value: 'answer', model, costUsd: 0 } },
    ]);
    expect(await withFallback(policy, context(), hop)).toMatchObject({ ok: true, value: 'answer' });
    expect(seen).toEqual([{ tried: [] }, { fallbackFrom: 'a', tried: ['a'] }]);
  });

  it('keeps a failure the policy calls non-retryable, and a model outside the registry, on that model', async () => {
    expect(await withFallback(policy, context(), hops([{ kind: 'failed', failure: failure('bad_output'), key: 'a', name: 'a' }]).hop)).toMatchObject({
      kind: 'bad_output',
    });
    expect(await withFallback(policy, context(), hops([{ kind: 'failed', failure: failure('timeout'), key: 'p/m' }]).hop)).toMatchObject({ kind: 'timeout' });
  });

  it('ends at a refusal with the last model’s failure, and after maximumAttempts models', async () => {
    const refused = { kind: 'refused', failure: failure('budget', 'no model fits') } as const;
    expect(await withFallback(policy, context(), hops([{ kind: 'failed', failure: failure('rate_limit'), key: 'a', name: 'a' }, refused]).hop)).toMatchObject({
      kind: 'rate_limit',
    });
    expect(await withFallback(policy, context(), hops([refused]).hop)).toMatchObject({ kind: 'budget' });
    const chain = hops(['a', 'b', 'c', 'd'].map((name) => ({ kind: 'failed' as const, failure: failure('crashed', name), key: name, name })));
    expect(await withFallback(policy, context(), chain.hop)).toMatchObject({ kind: 'crashed', error: 'c' });
    expect(chain.seen).toHaveLength(3);
  });
});
