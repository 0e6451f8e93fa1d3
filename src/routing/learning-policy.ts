import type { HistorySettings } from './config-schema.js';
import type { StepOutcome } from './history-store.js';
import { sumUsd } from './model-registry.js';

/**
 * Seed 002 Phase 3, "use cheaper models when proven effective": within one cell (role, area,
 * risk, step type), among the models with at least `min_samples` recent outcomes whose success
 * rate is within `tolerance` of the cell's best and at least `min_success_rate`, pick the one with
 * the most successes per dollar. A cheap model that fails more than that never qualifies, however
 * cheap. Without enough history the matrix decides. A small `exploration` share of decisions tries
 * another model fit for the role, so that a model the matrix never picks can earn a record.
 */

export interface ModelStats {
  readonly name: string;
  readonly samples: number;
  readonly successes: number;
  readonly costUsd: number;
  readonly rate: number;
  /** Successes per dollar; Infinity when the outcomes cost nothing. */
  readonly perDollar: number;
}

export function statsOf(name: string, outcomes: readonly StepOutcome[]): ModelStats {
  const successes = outcomes.filter((o) => o.success).length;
  const costUsd = sumUsd(outcomes.map((o) => o.cost_usd));
  return {
    name,
    samples: outcomes.length,
    successes,
    costUsd,
    rate: outcomes.length === 0 ? 0 : successes / outcomes.length,
    perDollar: costUsd > 0 ? successes / costUsd : successes > 0 ? Number.POSITIVE_INFINITY : 0,
  };
}

type LearningSource = 'matrix' | 'history' | 'exploration';

export interface LearningDecision {
  readonly model: string;
  readonly source: LearningSource;
  readonly reason: string;
}

export interface LearningInput {
  /** What the matrix would pick. */
  readonly matrixChoice: string;
  /** Models this decision may take (fit for the role, usable now); the matrix choice first. */
  readonly allowed: readonly string[];
  /** Models worth exploring in this cell. */
  readonly explore: readonly string[];
  readonly outcomes: ReadonlyMap<string, readonly StepOutcome[]>;
  readonly settings: Pick<HistorySettings, 'min_samples' | 'exploration' | 'tolerance' | 'min_success_rate'>;
  readonly random: () => number;
}

function describe(s: ModelStats): string {
  const perDollar = Number.isFinite(s.perDollar) ? `${s.perDollar.toFixed(1)} successes/$` : 'no cost recorded';
  return `${s.name} ${Math.round(s.rate * 100)}% of ${s.samples} at $${(s.costUsd / Math.max(1, s.samples)).toFixed(4)}/outcome (${perDollar})`;
}

export function chooseByHistory(input: LearningInput): LearningDecision {
  const { settings, matrixChoice } = input;
  const exploit = exploitChoice(input);
  const others = input.explore.filter((name) => name !== exploit.model && input.allowed.includes(name));
  if (others.length > 0 && settings.exploration > 0 && input.random() < settings.exploration) {
    const pick = others[Math.min(others.length - 1, Math.floor(input.random() * others.length))] ?? matrixChoice;
    return {
      model: pick,
      source: 'exploration',
      reason: `exploring ${pick} (${Math.round(settings.exploration * 100)}% of decisions try another model; would pick ${exploit.model})`,
    };
  }
  return exploit;
}

function exploitChoice(input: LearningInput): LearningDecision {
  const { settings, matrixChoice } = input;
  const stats = input.allowed.map((name) => statsOf(name, input.outcomes.get(name) ?? []));
  const eligible = stats.filter((s) => s.samples >= settings.min_samples);
  if (eligible.length === 0) {
    const counts = stats.filter((s) => s.samples > 0).map((s) => `${s.name} ${s.samples}`);
    return {
      model: matrixChoice,
      source: 'matrix',
      reason: `history: no model has ${settings.min_samples} outcomes in this cell yet${counts.length > 0 ? ` (${counts.join(', ')})` : ''}`,
    };
  }
  const best = Math.max(...eligible.map((s) => s.rate));
  const qualified = eligible.filter((s) => s.rate >= best - settings.tolerance && s.rate >= settings.min_success_rate);
  if (qualified.length === 0) {
    return {
      model: matrixChoice,
      source: 'matrix',
      reason: `history: no model succeeds at least ${Math.round(settings.min_success_rate * 100)}% here (${eligible.map(describe).join('; ')})`,
    };
  }
  // Ties go to the higher success rate, then to the matrix's own choice.
  const ranked = [...qualified].sort(
    (a, b) => b.perDollar - a.perDollar || b.rate - a.rate || Number(b.name === matrixChoice) - Number(a.name === matrixChoice),
  );
  const winner = ranked[0] as ModelStats;
  const rivals = eligible.filter((s) => s.name !== winner.name);
  if (winner.name === matrixChoice) {
    return {
      model: winner.name,
      source: 'matrix',
      reason: `history agrees: ${describe(winner)}${rivals.length > 0 ? ` vs ${rivals.map(describe).join('; ')}` : ''}`,
    };
  }
  return {
    model: winner.name,
    source: 'history',
    reason: `history: ${describe(winner)} beats ${rivals.map(describe).join('; ') || `${matrixChoice} (too few outcomes)`}`,
  };
}
