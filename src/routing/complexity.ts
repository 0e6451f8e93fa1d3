import type { PlanStep } from '../model/role-outputs.js';
import type { Area, Risk, TaskSpec, TaskType } from '../model/task-spec.js';

/**
 * Rule-based complexity, 0–10 (seed 000 ComplexityScorer; DESIGN §6): risk, area, kind of work,
 * size, files touched and words in the description each add points, and every point says why, so
 * `tandem route --explain` can show the sum. A high score raises the risk class a call is routed
 * with; it never lowers it.
 */

interface ComplexityFactor {
  readonly name: 'risk' | 'area' | 'type' | 'size' | 'files' | 'description';
  readonly points: number;
  readonly why: string;
}

export interface Complexity {
  /** 0–10, one decimal. */
  readonly score: number;
  readonly factors: readonly ComplexityFactor[];
}

export interface ComplexityThresholds {
  readonly medium_at: number;
  readonly high_at: number;
}

const riskPoints: Readonly<Record<Risk, number>> = { low: 0, medium: 2, high: 4 };
const areaPoints: Readonly<Record<Area, number>> = { core: 2, math: 2, api: 1.5, services: 1.5, general: 1, tests: 0.5, docs: 0, comments: 0 };
const stepTypePoints: Readonly<Record<PlanStep['type'], number>> = {
  refactor: 1.5,
  implementation: 1,
  analysis: 0.5,
  config: 0.5,
  testing: 0.5,
  validation: 0,
  docs: 0,
};
const taskTypePoints: Readonly<Record<TaskType, number>> = {
  refactor: 1.5,
  feature: 1,
  fix: 1,
  analyze: 0.5,
  chore: 0.5,
  test: 0.5,
  code_review: 0.5,
  validation: 0.5,
  docs: 0,
  summarize: 0,
};
const sizePoints: Readonly<Record<PlanStep['estimated_complexity'], number>> = { trivial: 0, small: 0.5, medium: 1, large: 2 };

/** Words that mark work where a weaker model tends to slip. */
const HARD_WORDS: readonly [RegExp, string][] = [
  [/concurren|race condition|thread|\block(s|ing)?\b|mutex|atomic/i, 'concurrency'],
  [/secur|auth|crypt|secret|password|token/i, 'security'],
  [/migrat|schema change|backward.?compat|breaking/i, 'compatibility'],
  [/performance|optimi[sz]|latency|memory leak/i, 'performance'],
  [/algorithm|parser|grammar|numeric|precision|floating/i, 'algorithmic'],
  [/distributed|transaction|consisten|idempot/i, 'distributed state'],
];

function filePoints(count: number): number {
  if (count >= 8) return 2;
  if (count >= 4) return 1;
  if (count >= 2) return 0.5;
  return 0;
}

function descriptionFactor(text: string): ComplexityFactor | undefined {
  const hits = HARD_WORDS.filter(([pattern]) => pattern.test(text)).map(([, label]) => label);
  const long = text.length > 400;
  const points = Math.min(1.5, hits.length * 0.5) + (long ? 0.5 : 0);
  if (points === 0) return undefined;
  const parts = [...(hits.length > 0 ? [`mentions ${hits.join(', ')}`] : []), ...(long ? ['long description'] : [])];
  return { name: 'description', points, why: parts.join('; ') };
}

function total(factors: readonly (ComplexityFactor | undefined)[]): Complexity {
  const kept = factors.filter((f): f is ComplexityFactor => f !== undefined && f.points !== 0);
  const sum = kept.reduce((s, f) => s + f.points, 0);
  return { score: Math.round(Math.min(10, Math.max(0, sum)) * 10) / 10, factors: kept };
}

/** A task before it has a plan: what the planner and plan reviewer are routed by. */
export function scoreTask(task: Pick<TaskSpec, 'risk' | 'area' | 'type' | 'goal' | 'context' | 'target_files'>): Complexity {
  return total([
    { name: 'risk', points: riskPoints[task.risk], why: `${task.risk} risk` },
    { name: 'area', points: areaPoints[task.area], why: `area ${task.area}` },
    { name: 'type', points: taskTypePoints[task.type], why: `${task.type} task` },
    { name: 'files', points: filePoints(task.target_files.length), why: `${task.target_files.length} target files` },
    descriptionFactor(`${task.goal}\n${task.context ?? ''}`),
  ]);
}

/** One planned step: what the implementer and code reviewer are routed by. */
export function scoreStep(
  task: Pick<TaskSpec, 'area'>,
  step: Pick<PlanStep, 'risk' | 'type' | 'estimated_complexity' | 'files_to_create' | 'files_to_modify' | 'description'>,
): Complexity {
  const files = step.files_to_create.length + step.files_to_modify.length;
  return total([
    { name: 'risk', points: riskPoints[step.risk], why: `${step.risk} risk` },
    { name: 'area', points: areaPoints[task.area], why: `area ${task.area}` },
    { name: 'type', points: stepTypePoints[step.type], why: `${step.type} step` },
    { name: 'size', points: sizePoints[step.estimated_complexity], why: `${step.estimated_complexity} size` },
    { name: 'files', points: filePoints(files), why: `${files} files to change` },
    descriptionFactor(step.description),
  ]);
}

const riskOrder: readonly Risk[] = ['low', 'medium', 'high'];

/** The risk class a call is routed with: the declared risk, raised (never lowered) by a high score. */
export function riskClass(declared: Risk, complexity: Complexity, thresholds: ComplexityThresholds): Risk {
  const byScore: Risk = complexity.score >= thresholds.high_at ? 'high' : complexity.score >= thresholds.medium_at ? 'medium' : 'low';
  return riskOrder.indexOf(byScore) > riskOrder.indexOf(declared) ? byScore : declared;
}

export function describeComplexity(c: Complexity): string {
  const parts = c.factors.map((f) => `${f.why} +${f.points}`);
  return `${c.score}/10${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`;
}
