import { describe, expect, it } from 'vitest';
import { createMemoryBus } from '../../src/bus/memory-bus.js';
import type { TaskEvent } from '../../src/model/task-events.js';
import { subject } from '../../src/bus/subjects.js';
import { bindHistory } from '../../src/routing/history-recorder.js';
import { createHistoryStore } from '../../src/routing/history-store.js';

const routing = (model: string, stepType = 'implementation') => ({
  model_name: model,
  source: 'matrix' as const,
  reason: 'r',
  task_risk: 'high' as const,
  task_area: 'core' as const,
  step_type: stepType,
  complexity: 7,
  estimate_usd: 0.01,
});
const started = (role: 'planner' | 'implementer', attempt: number, model: string, stepId?: string): TaskEvent => ({
  type: 'role.started',
  taskId: 'T1',
  at: 100,
  stepId,
  role,
  provider: 'p',
  model,
  runner: 'gemini-cli',
  attempt,
  routing: routing(model, role === 'planner' ? 'plan' : 'implementation'),
});
const finished = (
  role: 'planner' | 'plan-reviewer' | 'implementer' | 'code-reviewer',
  attempt: number,
  cost: number,
  fields: Partial<Extract<TaskEvent, { type: 'role.finished' }>> = {},
): TaskEvent => ({
  type: 'role.finished',
  taskId: 'T1',
  at: 200,
  role,
  provider: 'p',
  model: 'm',
  runner: 'scripted',
  attempt,
  tries: 1,
  success: true,
  tokens_input: 1,
  tokens_output: 1,
  tokens_estimated: false,
  cost_usd: cost,
  latency_ms: 1,
  ...fields,
});
const gate = (attempt: number, passed: boolean): TaskEvent => ({
  type: 'gate.finished',
  taskId: 'T1',
  at: 300,
  stepId: 'S1',
  attempt,
  passed,
  summary: '',
  duration_ms: 1,
  checks: [],
});

async function record(events: TaskEvent[]) {
  const bus = createMemoryBus();
  const history = createHistoryStore({ window: 100 });
  const binding = bindHistory(bus, history);
  for (const e of events) await bus.publish(subject({ kind: 'events', taskId: e.taskId, event: e.type }), e);
  await bus.flush();
  binding.unsubscribe();
  const planner = history.cell({ role: 'planner', area: 'core', risk: 'high', stepType: 'plan' });
  const implementer = history.cell({ role: 'implementer', area: 'core', risk: 'high', stepType: 'implementation' });
  return { planner, implementer };
}

describe('step outcomes derived from the lifecycle events', () => {
  it('a plan approved without revision is a planner success; a revised one a failure', async () => {
    const { planner } = await record([
      started('planner', 1, 'pro'),
      finished('planner', 1, 0.02),
      finished('plan-reviewer', 1, 0.01, { verdict: 'needs_revision' }),
      started('planner', 2, 'sonnet'),
      finished('planner', 2, 0.05),
      finished('plan-reviewer', 2, 0.01, { verdict: 'approved' }),
    ]);
    expect([...planner].map(([model, list]) => [model, list.map((o) => [o.success, o.cost_usd, o.attempts])])).toEqual([
      ['pro', [[false, 0.02, 1]]],
      ['sonnet', [[true, 0.05, 2]]],
    ]);
  });

  it('an implementer succeeds when the gate passes on the first attempt', async () => {
    const { implementer } = await record([
      started('implementer', 1, 'flash', 'S1'),
      finished('implementer', 1, 0.01, { stepId: 'S1' }),
      finished('code-reviewer', 1, 0.02, { stepId: 'S1', verdict: 'approved' }),
      gate(1, true),
    ]);
    expect(
      implementer.get('flash')?.map((o) => ({ success: o.success, attempts: o.attempts, cost: o.cost_usd, step: o.step_id, duration: o.duration_ms })),
    ).toEqual([{ success: true, attempts: 1, cost: 0.01, step: 'S1', duration: 200 }]);
  });

  it('changes asked by the review or a failed gate make it a failure, with every attempt’s cost', async () => {
    const { implementer } = await record([
      started('implementer', 1, 'flash', 'S1'),
      finished('implementer', 1, 0.01, { stepId: 'S1' }),
      finished('code-reviewer', 1, 0.02, { stepId: 'S1', verdict: 'needs_changes' }),
      started('implementer', 2, 'flash', 'S1'),
      finished('implementer', 2, 0.01, { stepId: 'S1' }),
      finished('code-reviewer', 2, 0.02, { stepId: 'S1', verdict: 'approved' }),
      gate(2, true),
    ]);
    expect(implementer.get('flash')?.map((o) => [o.success, o.attempts, o.cost_usd])).toEqual([[false, 2, 0.02]]);
  });

  it('replayed answers of the scripted runner teach nothing', async () => {
    const scripted = { ...started('implementer', 1, 'flash', 'S1'), runner: 'scripted', simulated: true } as TaskEvent;
    expect((await record([scripted, finished('implementer', 1, 0, { stepId: 'S1' }), gate(1, true)])).implementer.size).toBe(0);
  });

  it('work stopped for a reason that is not the model’s is not recorded; a known failure is', async () => {
    const waiting: TaskEvent = { type: 'task.state', taskId: 'T1', at: 400, state: 'AWAITING_HUMAN_REVIEW', attempt: 1 };
    expect((await record([started('implementer', 1, 'flash', 'S1'), finished('implementer', 1, 0.01, { stepId: 'S1' }), waiting])).implementer.size).toBe(0);
    const failedFirst = await record([started('implementer', 1, 'flash', 'S1'), finished('implementer', 1, 0.01, { stepId: 'S1' }), gate(1, false), waiting]);
    expect(failedFirst.implementer.get('flash')?.map((o) => [o.success, o.attempts])).toEqual([[false, 1]]);
  });
});
