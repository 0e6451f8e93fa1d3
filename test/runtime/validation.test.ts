import { describe, expect, it } from 'vitest';
import { createMemoryBus } from '../../src/bus/memory-bus.js';
import { ConfigSchema, type ConfigInput } from '../../src/config/schema.js';
import { TaskSpecSchema } from '../../src/model/task-spec.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { createScriptedRunner } from '../../src/runners/scripted.js';
import type { ScriptInput } from '../../src/runners/scripted-script.js';
import { createMemoryStore } from '../../src/store/memory-store.js';
import type { Store } from '../../src/store/store.js';
import { fakeWorkspace, passingGate } from '../helpers/fake-ports.js';
import { manualClock, type ManualClock } from '../helpers/manual-clock.js';

/** What the validator is asked and what the implementer is told after a failed validation, seen at the runner. */

const script: ScriptInput = {
  defaults: {
    'plan-reviewer': [{ respond: { status: 'approved' } }],
    'code-reviewer': [{ respond: { status: 'approved' } }],
    implementer: [{ respond: { explanation: 'done', confidence: 0.9 } }],
  },
  tasks: {
    V1: {
      planner: [{ respond: { task_id: 'V1', steps: [{ id: 'S1', type: 'implementation', description: 'Write the greeting' }] } }],
      validator: [
        { respond: { pass: false, issues: ['greeting.txt must end with an exclamation mark'], confidence: 0.9, escalate: false } },
        { respond: { pass: true, issues: [], confidence: 0.9, escalate: false } },
      ],
    },
  },
};

const spec = TaskSpecSchema.parse({
  id: 'V1',
  goal: 'Write a greeting',
  constraints: ['no new dependencies'],
  success_criteria: ['greeting.txt says hello'],
});

function start(options: { limits?: ConfigInput['limits']; script?: ScriptInput; store?: Store; clock?: ManualClock } = {}) {
  const runner = createScriptedRunner({ script: options.script ?? script, ...(options.clock ? { clock: options.clock } : {}) });
  const bus = createMemoryBus();
  const runtime = createRuntime({
    config: ConfigSchema.parse({ runner_override: 'scripted', limits: { retry_base_delay_ms: 0, ...options.limits } }),
    runners: new Map([['scripted', runner]]),
    store: options.store ?? createMemoryStore(),
    bus,
    gate: passingGate(),
    workspace: fakeWorkspace(),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  return { runner, bus, runtime };
}

async function runOne(limits: ConfigInput['limits'] = {}) {
  const { runner, bus, runtime } = start({ limits });
  const outcome = await (await runtime.submit({ spec, repo: '/repo', base: 'main', baseCommit: 'abc' })).outcome;
  await runtime.idle();
  await runtime.close();
  await bus.close();
  return { outcome, calls: runner.calls() };
}

describe('the validator through the runtime', () => {
  it('asks with the goal, constraints, success criteria and the branch diff, and hands its issues to the implementer', async () => {
    const { outcome, calls } = await runOne();
    expect(outcome.state).toBe('DONE');
    expect(calls.map((c) => `${c.role}#${c.attempt}`)).toEqual([
      'planner#1',
      'plan-reviewer#1',
      'implementer#1',
      'code-reviewer#1',
      'validator#1',
      'implementer#2',
      'code-reviewer#2',
      'validator#2',
    ]);
    const [validator] = calls.filter((c) => c.role === 'validator');
    expect(validator?.allowEdits).toBe(false);
    expect(validator?.stepId).toBeUndefined();
    expect(validator?.prompt).toContain('You are the VALIDATOR');
    expect(validator?.prompt).toContain('Constraints:\n- no new dependencies');
    expect(validator?.prompt).toContain('Success criteria:\n- greeting.txt says hello');
    expect(validator?.prompt).toContain('- S1 (implementation): Write the greeting');
    expect(validator?.prompt).toMatch(/## Diff of the branch since its base\n```diff\n\+change \d+\n```/);
    // Another provider than the implementer's (diversity), as for the reviewers.
    const implementer = calls.find((c) => c.role === 'implementer');
    expect(validator?.model.provider).not.toBe(implementer?.model.provider);

    const fix = calls.find((c) => c.role === 'implementer' && c.attempt === 2);
    expect(fix?.stepId).toBe('S1');
    expect(fix?.prompt).toContain('Issues:\n- greeting.txt must end with an exclamation mark');
  });

  it('ends DONE after the last step without a validator call when `limits.validate` is off', async () => {
    const { outcome, calls } = await runOne({ validate: false });
    expect(outcome.state).toBe('DONE');
    expect(calls.map((c) => c.role)).toEqual(['planner', 'plan-reviewer', 'implementer', 'code-reviewer']);
  });

  it('a task stopped while validating resumes there: the validator is asked again, nothing before it is redone', async () => {
    const store = createMemoryStore();
    const clock = manualClock(0);
    const slow: ScriptInput = {
      ...script,
      tasks: { V1: { ...script.tasks?.['V1'], validator: [{ delay_ms: 60_000, respond: { pass: true, confidence: 0.9 } }] } },
    };
    const first = start({ script: slow, store, clock });
    const handle = await first.runtime.submit({ spec, repo: '/repo', base: 'main', baseCommit: 'abc' });
    for (let i = 0; i < 500 && (await first.runtime.get('V1'))?.state !== 'VALIDATING'; i++) await new Promise((r) => setImmediate(r));
    expect((await first.runtime.get('V1'))?.state).toBe('VALIDATING');
    await first.runtime.close();
    await expect(handle.outcome).resolves.toMatchObject({ state: 'VALIDATING' });
    await first.bus.close();

    const fast: ScriptInput = { ...script, tasks: { V1: { ...script.tasks?.['V1'], validator: [{ respond: { pass: true, issues: [], confidence: 0.8 } }] } } };
    const second = start({ script: fast, store, clock });
    const [resumed] = await second.runtime.resume();
    expect((await resumed?.outcome)?.state).toBe('DONE');
    expect(second.runner.calls().map((c) => `${c.role}#${c.attempt}`)).toEqual(['validator#1']);
    expect((await second.runtime.get('V1'))?.validation).toMatchObject({ pass: true, confidence: 0.8, call: 1 });
    await second.runtime.close();
    await second.bus.close();
  });
});
