import { describe, expect, it } from 'vitest';
import type { AgentRunner } from '../../src/runners/agent-runner.js';
import { createScriptedRunner } from '../../src/runners/scripted.js';
import { createMemoryBus } from '../../src/bus/memory-bus.js';
import { createMemoryStore } from '../../src/store/memory-store.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { TaskSpecSchema } from '../../src/model/task-spec.js';
import { fakeWorkspace, passingGate } from '../helpers/fake-ports.js';

/**
 * The queue of a runtime (seed 003, issue 8): with every slot taken, waiting tasks start higher
 * priority first and, within a priority, in the order they came, across repositories.
 */

const approveAll = {
  'plan-reviewer': [{ respond: { status: 'approved' } }],
  'code-reviewer': [{ respond: { status: 'approved' } }],
  implementer: [{ respond: { explanation: 'done', confidence: 0.9 } }],
  planner: [{ respond: { task_id: 'X', steps: [{ id: 'S1', type: 'implementation', description: 'one' }] } }],
};

const task = (id: string, priority: string, repo: string) => ({
  spec: TaskSpecSchema.parse({ id, goal: 'do it', priority }),
  repo,
  base: 'main',
  baseCommit: 'abc',
});

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1_000 && !check(); i++) await new Promise((r) => setImmediate(r));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

describe('runtime queue', () => {
  it('starts waiting tasks by priority (high, medium, low), then in submission order, within the concurrency limit', async () => {
    const base = createScriptedRunner({ script: { defaults: approveAll } });
    const plannerCalls: string[] = [];
    let release: () => void = () => undefined;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    let inFlight = 0;
    let most = 0;
    const runner: AgentRunner = {
      name: 'scripted',
      async run(request, options) {
        if (request.role === 'planner') plannerCalls.push(request.taskId);
        most = Math.max(most, ++inFlight);
        try {
          // The first task holds the only slot until the others are queued.
          if (request.taskId === 'FIRST' && request.role === 'planner') await blocked;
          return await base.run(request, options);
        } finally {
          inFlight--;
        }
      },
    };
    const runtime = createRuntime({
      config: ConfigSchema.parse({ runner_override: 'scripted', concurrency: 1 }),
      runners: new Map([['scripted', runner]]),
      store: createMemoryStore(),
      bus: createMemoryBus(),
      gate: passingGate(),
      workspace: fakeWorkspace(),
    });
    const first = await runtime.submit(task('FIRST', 'low', '/repo-a'));
    await until(() => plannerCalls.includes('FIRST'), 'the first task to start');
    const queued = [
      task('LOW-1', 'low', '/repo-a'),
      task('MED-1', 'medium', '/repo-b'),
      task('HIGH-1', 'high', '/repo-c'),
      task('LOW-2', 'low', '/repo-b'),
      task('HIGH-2', 'high', '/repo-a'),
      task('MED-2', 'medium', '/repo-c'),
    ];
    const handles = [];
    for (const t of queued) handles.push(await runtime.submit(t));
    // Nothing queued may start while the slot is taken.
    expect(plannerCalls).toEqual(['FIRST']);
    release();
    const outcomes = await Promise.all([first, ...handles].map((h) => h.outcome));
    expect(outcomes.map((o) => o.state)).toEqual(Array(7).fill('DONE'));
    expect(plannerCalls).toEqual(['FIRST', 'HIGH-1', 'HIGH-2', 'MED-1', 'MED-2', 'LOW-1', 'LOW-2']);
    expect(most).toBe(1);
    await runtime.close();
  });
});
