import type { ScriptInput } from '../src/index.js';

/** Steps in the benchmark's plan: the pipeline is plan → plan review → 3 × (implement → code review → gate). */
const BENCH_STEPS = ['S1', 'S2', 'S3'] as const;

/**
 * Role calls per task as the supervisor machine makes them for that pipeline: planner 1, plan
 * reviewer 1, and per step implementer 1, code reviewer 1, quality gate 1. The gate is not a
 * runner call, but it is where the real gate spends its time, so it carries the same latency.
 */
export const ROLE_CALLS_PER_TASK = 2 + BENCH_STEPS.length * 3;

/** Model calls among those (the scripted runner answers them; the stub gate answers the rest). */
export const RUNNER_CALLS_PER_TASK = 2 + BENCH_STEPS.length * 2;

/**
 * Every task takes the happy path: a three-step plan, approved by the reviewer, each step approved
 * by the code reviewer at its first attempt. Answers come from `defaults`, so any task id works
 * and the script stays a few hundred bytes however many tasks run.
 */
export function benchScript(roleDelayMs: number): ScriptInput {
  const delay = roleDelayMs > 0 ? { delay_ms: roleDelayMs } : {};
  const step = (id: string) => ({
    id,
    type: 'implementation' as const,
    description: `Change value.txt for step ${id}`,
    files_to_modify: ['value.txt'],
  });
  return {
    defaults: {
      planner: [{ ...delay, respond: { task_id: 'any', steps: BENCH_STEPS.map(step) } }],
      'plan-reviewer': [{ ...delay, respond: { status: 'approved' } }],
      implementer: [{ ...delay, respond: { explanation: 'changed value.txt', confidence: 0.9 } }],
      'code-reviewer': [{ ...delay, respond: { status: 'approved' } }],
    },
  };
}
