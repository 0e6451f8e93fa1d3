import { describe, expect, it } from 'vitest';
import type { StepOutcome } from '../../src/routing/history-store.js';
import { chooseByHistory, statsOf } from '../../src/routing/learning-policy.js';

const settings = { min_samples: 20, exploration: 0.05, tolerance: 0.05, min_success_rate: 0.8 };

function outcomes(model: string, samples: number, successes: number, costEach: number): StepOutcome[] {
  return Array.from({ length: samples }, (_, i) => ({
    version: 1 as const,
    id: `${model}-${i}`,
    at: i,
    task_id: 'T',
    role: 'implementer' as const,
    model_name: model,
    area: 'core' as const,
    risk: 'high' as const,
    step_type: 'implementation',
    success: i < successes,
    attempts: 1,
    cost_usd: costEach,
    duration_ms: 1,
  }));
}

const decide = (records: StepOutcome[][], random: number[] = [0.9]) => {
  const queue = [...random];
  return chooseByHistory({
    matrixChoice: 'sonnet',
    allowed: ['sonnet', 'pro', 'flash'],
    explore: ['sonnet', 'pro', 'flash'],
    outcomes: new Map(records.map((r) => [r[0]?.model_name ?? '?', r])),
    settings,
    random: () => queue.shift() ?? 0.9,
  });
};

describe('learning policy (seed 002 Phase 3)', () => {
  it('counts successes per dollar exactly', () => {
    expect(statsOf('pro', outcomes('pro', 20, 18, 0.04))).toEqual({ name: 'pro', samples: 20, successes: 18, costUsd: 0.8, rate: 0.9, perDollar: 22.5 });
    expect(statsOf('free', outcomes('free', 2, 1, 0)).perDollar).toBe(Number.POSITIVE_INFINITY);
  });

  it('leaves the matrix in charge until a model has min_samples outcomes in the cell', () => {
    expect(decide([outcomes('pro', 19, 19, 0.01), outcomes('sonnet', 5, 5, 0.07)])).toEqual({
      model: 'sonnet',
      source: 'matrix',
      reason: 'history: no model has 20 outcomes in this cell yet (sonnet 5, pro 19)',
    });
  });

  it('prefers the cheaper model when it succeeds as often (within the tolerance)', () => {
    const d = decide([outcomes('sonnet', 40, 37, 0.07), outcomes('pro', 40, 36, 0.04)]);
    expect(d.model).toBe('pro');
    expect(d.source).toBe('history');
  });

  it('does not switch when the cheaper model fails more, however cheap', () => {
    const d = decide([outcomes('sonnet', 40, 37, 0.07), outcomes('pro', 40, 33, 0.01), outcomes('flash', 40, 30, 0.001)]);
    expect(d.model).toBe('sonnet');
    expect(d.source).toBe('matrix');
    expect(d.reason).toMatch(/^history agrees: sonnet 93% of 40/);
  });

  it('never prefers a model under min_success_rate; with none above it, the matrix decides', () => {
    const d = decide([outcomes('sonnet', 40, 30, 0.07), outcomes('pro', 40, 31, 0.01)]);
    expect(d).toMatchObject({ model: 'sonnet', source: 'matrix' });
    expect(d.reason).toMatch(/^history: no model succeeds at least 80% here/);
  });

  it('explores another fit model in a small share of decisions, chosen by the injected random', () => {
    // 0.01 < 5%: explore; 0.6 picks the second of the other models (pro, flash).
    expect(decide([outcomes('sonnet', 40, 37, 0.07)], [0.01, 0.6])).toEqual({
      model: 'flash',
      source: 'exploration',
      reason: 'exploring flash (5% of decisions try another model; would pick sonnet)',
    });
    expect(decide([outcomes('sonnet', 40, 37, 0.07)], [0.05]).source).toBe('matrix');
  });
});
