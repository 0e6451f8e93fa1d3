import { describe, expect, it } from 'vitest';
import { createScriptedRunner } from '../../src/runners/scripted.js';
import type { ScriptFailKind } from '../../src/runners/scripted-script.js';
import { createMemoryBus } from '../../src/bus/memory-bus.js';
import { createMemoryStore } from '../../src/store/memory-store.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { TaskSpecSchema } from '../../src/model/task-spec.js';
import { fakeWorkspace, passingGate } from '../helpers/fake-ports.js';

/**
 * The error kinds no retry can cure, through the whole runtime: each failed attempt counts (no
 * transient retry on the same model), and after the attempts a person gets the task with the
 * classified reason. Under runner_override there is no other model to fall back to.
 */

const approveAll = {
  'plan-reviewer': [{ respond: { status: 'approved' } }],
  'code-reviewer': [{ respond: { status: 'approved' } }],
  planner: [{ respond: { task_id: 'X', steps: [{ id: 'S1', type: 'implementation', description: 'one' }] } }],
};

function setup(failing: 'planner' | 'implementer', kind: ScriptFailKind) {
  const failure = [{ fail: kind, message: `simulated ${kind}` }];
  const runner = createScriptedRunner({
    script: {
      defaults: {
        ...approveAll,
        implementer: failing === 'implementer' ? failure : [{ respond: { explanation: 'done', confidence: 0.9 } }],
        ...(failing === 'planner' ? { planner: failure } : {}),
      },
    },
  });
  const runtime = createRuntime({
    config: ConfigSchema.parse({ runner_override: 'scripted', limits: { max_attempts: 2, max_transient_retries: 2, retry_base_delay_ms: 0 } }),
    runners: new Map([['scripted', runner]]),
    store: createMemoryStore(),
    bus: createMemoryBus(),
    gate: passingGate(),
    workspace: fakeWorkspace(),
  });
  const task = { spec: TaskSpecSchema.parse({ id: 'E1', goal: 'do it' }), repo: '/repo', base: 'main', baseCommit: 'abc' };
  return { runner, runtime, task };
}

describe('error kinds through the runtime', () => {
  it.each(['auth', 'permission_denied', 'no_progress', 'unavailable'] as const)(
    'an implementer failing with %s: one call per attempt, then a person, with the reason',
    async (kind) => {
      const { runner, runtime, task } = setup('implementer', kind);
      const outcome = await (await runtime.submit(task)).outcome;
      expect(outcome.state).toBe('AWAITING_HUMAN_REVIEW');
      const record = await runtime.get('E1');
      expect(record?.waiting?.stage).toBe('step');
      expect(record?.waiting?.reason).toContain(kind);
      expect(record?.waiting?.reason).toContain(`simulated ${kind}`);
      // Two attempts, each one call: none of these kinds is retried on the same model.
      expect(
        runner
          .calls()
          .filter((c) => c.role === 'implementer')
          .map((c) => [c.attempt, c.try]),
      ).toEqual([
        [1, 0],
        [2, 0],
      ]);
      expect(record?.commits).toEqual([]);
      await runtime.close();
    },
  );

  it('a transient kind (timeout) is retried on the same model before the attempt counts', async () => {
    const { runner, runtime, task } = setup('implementer', 'timeout');
    const outcome = await (await runtime.submit(task)).outcome;
    expect(outcome.state).toBe('AWAITING_HUMAN_REVIEW');
    // Each attempt: the call and its two transient retries.
    expect(runner.calls().filter((c) => c.role === 'implementer')).toHaveLength(6);
    await runtime.close();
  });

  it('a planner without a login (auth) stops the plan with the reason, before any step', async () => {
    const { runner, runtime, task } = setup('planner', 'auth');
    const outcome = await (await runtime.submit(task)).outcome;
    expect(outcome.state).toBe('AWAITING_HUMAN_REVIEW');
    const record = await runtime.get('E1');
    expect(record?.waiting).toMatchObject({ stage: 'plan' });
    expect(record?.waiting?.reason).toContain('auth');
    expect(runner.calls().map((c) => c.role)).toEqual(['planner', 'planner']);
    await runtime.close();
  });
});
