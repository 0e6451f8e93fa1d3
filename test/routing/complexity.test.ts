import { describe, expect, it } from 'vitest';
import { PlanStepSchema } from '../../src/model/role-outputs.js';
import { describeComplexity, riskClass, scoreStep, scoreTask } from '../../src/routing/complexity.js';
import { TaskSpecSchema } from '../../src/model/task-spec.js';

const thresholds = { medium_at: 5, high_at: 8 };
const step = (fields: Record<string, unknown>) => PlanStepSchema.parse({ id: 'S1', type: 'implementation', description: 'do it', ...fields });

describe('complexity scorer', () => {
  it('scores a task from risk, area, type, target files and words, and explains every point', () => {
    const task = TaskSpecSchema.parse({
      id: 'T',
      goal: 'Fix the race condition in the token cache',
      risk: 'high',
      area: 'core',
      type: 'fix',
      target_files: ['a', 'b', 'c', 'd'],
    });
    const c = scoreTask(task);
    expect(c.score).toBe(9);
    expect(c.factors).toEqual([
      { name: 'risk', points: 4, why: 'high risk' },
      { name: 'area', points: 2, why: 'area core' },
      { name: 'type', points: 1, why: 'fix task' },
      { name: 'files', points: 1, why: '4 target files' },
      { name: 'description', points: 1, why: 'mentions concurrency, security' },
    ]);
    expect(describeComplexity(c)).toBe('9/10 (high risk +4, area core +2, fix task +1, 4 target files +1, mentions concurrency, security +1)');
  });

  it('keeps an easy docs task low', () => {
    const c = scoreTask(TaskSpecSchema.parse({ id: 'T', goal: 'Fix a typo', risk: 'low', area: 'docs', type: 'docs' }));
    expect(c).toEqual({ score: 0, factors: [] });
  });

  it('scores a step, clamped to 10', () => {
    const big = step({
      type: 'refactor',
      risk: 'high',
      estimated_complexity: 'large',
      files_to_modify: Array.from({ length: 9 }, (_, i) => `f${i}.ts`),
      description: `Migrate the parser to an atomic, distributed transaction log for performance. ${'x'.repeat(400)}`,
    });
    expect(scoreStep({ area: 'math' }, big).score).toBe(10);
    expect(scoreStep({ area: 'docs' }, step({ type: 'docs', risk: 'low', estimated_complexity: 'trivial' })).score).toBe(0);
    expect(scoreStep({ area: 'api' }, step({ risk: 'medium', estimated_complexity: 'small', files_to_create: ['a.ts', 'b.ts'] })).score).toBe(5.5);
  });

  it('raises the risk class from a high score, never lowers it', () => {
    const at = (score: number) => ({ score, factors: [] });
    expect(riskClass('low', at(4.9), thresholds)).toBe('low');
    expect(riskClass('low', at(5), thresholds)).toBe('medium');
    expect(riskClass('medium', at(8), thresholds)).toBe('high');
    expect(riskClass('high', at(0), thresholds)).toBe('high');
    expect(riskClass('medium', at(1), thresholds)).toBe('medium');
  });
});
