import { describe, expect, it } from 'vitest';
import type { RunRequest } from '../../src/model/execution.js';
import { createScriptedRunner, selectAnswer } from '../../src/runners/scripted.js';
import { ScriptSchema } from '../../src/runners/scripted-script.js';
import type { ScriptInput } from '../../src/runners/scripted-script.js';
import { InputError } from '../../src/platform/errors.js';
import { manualClock } from '../helpers/manual-clock.js';

function request(overrides: Partial<RunRequest> = {}): RunRequest {
  return {
    role: 'planner',
    taskId: 'T-1',
    attempt: 1,
    try: 0,
    prompt: 'p'.repeat(10),
    cwd: '/nonexistent/scripted-test-cwd',
    model: { provider: 'anthropic', model: 'claude-sonnet-4-5', runner: 'scripted' },
    allowEdits: false,
    timeoutMs: 60_000,
    ...overrides,
  };
}

const live = (): { signal: AbortSignal } => ({ signal: new AbortController().signal });

/** Lets pending promise callbacks run, a bounded number of times. */
async function settle(until: () => boolean): Promise<void> {
  for (let i = 0; i < 50 && !until(); i += 1) await new Promise<void>((resolve) => setImmediate(resolve));
}

const planScript: ScriptInput = {
  tasks: {
    'T-1': {
      planner: [{ respond: { plan: 1 } }, { respond: { plan: 2 } }],
      steps: {
        S1: {
          implementer: [{ respond_text: 'done, first' }, { respond: { explanation: 'second', confidence: 0.5 } }],
          'code-reviewer': [{ respond: { status: 'needs_changes' } }, { respond: { status: 'approved' } }],
        },
      },
    },
  },
};

describe('scripted runner: choosing the answer', () => {
  it('answers attempt n with turn n and repeats the last turn for later attempts', async () => {
    const runner = createScriptedRunner({ script: planScript });
    const answers = [];
    for (const attempt of [1, 2, 3, 7]) answers.push((await runner.run(request({ attempt }), live())).response);
    expect(answers).toEqual(['{"plan":1}', '{"plan":2}', '{"plan":2}', '{"plan":2}']);
  });

  it('gives the same answer to a repeated call, whatever was asked before (no cursor)', async () => {
    const runner = createScriptedRunner({ script: planScript });
    const order = [2, 1, 1, 2, 2, 1];
    const answers = [];
    for (const attempt of order) answers.push((await runner.run(request({ attempt }), live())).response);
    expect(answers).toEqual(['{"plan":2}', '{"plan":1}', '{"plan":1}', '{"plan":2}', '{"plan":2}', '{"plan":1}']);
  });

  it('answers step roles from steps.<id>, by attempt', async () => {
    const runner = createScriptedRunner({ script: planScript });
    const impl1 = await runner.run(request({ role: 'implementer', stepId: 'S1', attempt: 1 }), live());
    const impl2 = await runner.run(request({ role: 'implementer', stepId: 'S1', attempt: 2 }), live());
    const review1 = await runner.run(request({ role: 'code-reviewer', stepId: 'S1', attempt: 1 }), live());
    const review2 = await runner.run(request({ role: 'code-reviewer', stepId: 'S1', attempt: 2 }), live());
    expect([impl1.response, impl2.response, review1.response, review2.response]).toEqual([
      'done, first',
      '{"explanation":"second","confidence":0.5}',
      '{"status":"needs_changes"}',
      '{"status":"approved"}',
    ]);
    expect([impl1.success, impl2.success, review1.success, review2.success]).toEqual([true, true, true, true]);
  });

  it('gives the before items to the earlier tries of an attempt, then the turn itself', async () => {
    const runner = createScriptedRunner({
      script: {
        tasks: {
          'T-1': {
            planner: [
              {
                before: [
                  { raw: 'Sure! Here is the plan...' },
                  { fail: 'rate_limit', retry_after_ms: 60_000 },
                  { fail: 'timeout' },
                  { fail: 'overloaded' },
                  { fail: 'crashed', message: 'segfault in the CLI' },
                  { fail: 'auth' },
                ],
                respond: { ok: true },
              },
            ],
          },
        },
      },
    });
    const results = [];
    for (let attempt = 0; attempt <= 7; attempt += 1) results.push(await runner.run(request({ try: attempt }), live()));
    expect(results.map((r) => [r.success, r.error_kind, r.response])).toEqual([
      [true, undefined, 'Sure! Here is the plan...'],
      [false, 'rate_limit', ''],
      [false, 'timeout', ''],
      [false, 'overloaded', ''],
      [false, 'crashed', ''],
      [false, 'auth', ''],
      [true, undefined, '{"ok":true}'],
      [true, undefined, '{"ok":true}'],
    ]);
    expect(results[1]?.retry_after_ms).toBe(60_000);
    expect(results[1]?.error).toBe('scripted rate_limit (tasks.T-1.planner[0].before[1])');
    expect(results[4]?.error).toBe('segfault in the CLI (tasks.T-1.planner[0].before[4])');
    expect(results[0]?.error).toBeUndefined();
  });

  it('repeats a raw or fail turn on every try of its attempt', async () => {
    const runner = createScriptedRunner({
      script: { tasks: { 'T-1': { planner: [{ raw: 'not json at all' }, { fail: 'overloaded', message: 'busy' }] } } },
    });
    const raw = await Promise.all([0, 1, 2].map((t) => runner.run(request({ attempt: 1, try: t }), live())));
    const failed = await Promise.all([0, 1, 2].map((t) => runner.run(request({ attempt: 2, try: t }), live())));
    expect(raw.map((r) => [r.success, r.response])).toEqual([
      [true, 'not json at all'],
      [true, 'not json at all'],
      [true, 'not json at all'],
    ]);
    expect(failed.map((r) => [r.success, r.error_kind, r.error])).toEqual([
      [false, 'overloaded', 'busy (tasks.T-1.planner[1])'],
      [false, 'overloaded', 'busy (tasks.T-1.planner[1])'],
      [false, 'overloaded', 'busy (tasks.T-1.planner[1])'],
    ]);
  });

  it('falls back to defaults when the task, role or step has no entry', () => {
    const script = ScriptSchema.parse({
      defaults: { 'code-reviewer': [{ respond: { status: 'approved' } }], planner: [{ respond: { default: true } }] },
      tasks: { 'T-1': { steps: { S1: { implementer: [{ respond: {} }] } } } },
    });
    const review = selectAnswer(script, request({ role: 'code-reviewer', stepId: 'S1' }));
    const otherTask = selectAnswer(script, request({ taskId: 'OTHER' }));
    expect(review).toEqual({ found: true, source: 'defaults.code-reviewer[0]', answer: { respond: { status: 'approved' } }, edits: [] });
    expect(otherTask).toEqual({ found: true, source: 'defaults.planner[0]', answer: { respond: { default: true } }, edits: [] });
  });

  it('fails with bad_output naming the missing script path when nothing answers', async () => {
    const runner = createScriptedRunner({ script: planScript });
    const step = await runner.run(request({ role: 'implementer', stepId: 'S2' }), live());
    const task = await runner.run(request({ role: 'plan-reviewer', taskId: 'DEMO-1' }), live());
    const noStep = await runner.run(request({ role: 'implementer' }), live());
    expect([step.success, step.error_kind, step.error]).toEqual([
      false,
      'bad_output',
      'no scripted answer for tasks.T-1.steps.S2.implementer (and no defaults.implementer)',
    ]);
    expect(task.error).toBe('no scripted answer for tasks.DEMO-1.plan-reviewer (and no defaults.plan-reviewer)');
    expect(noStep.error).toBe('no scripted answer for tasks.T-1.steps.(no stepId).implementer (and no defaults.implementer)');
  });
});

describe('scripted runner: results', () => {
  it('labels results as scripted and estimates tokens from text length', async () => {
    const runner = createScriptedRunner({ script: { tasks: { 'T-1': { planner: [{ respond_text: 'abcde' }] } } } });
    const result = await runner.run(request({ prompt: 'x'.repeat(9) }), live());
    expect(result).toEqual({
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      role: 'planner',
      response: 'abcde',
      tokens_input: 3,
      tokens_output: 2,
      tokens_estimated: true,
      cost_usd: 0,
      latency_ms: result.latency_ms,
      success: true,
      runner: 'scripted',
    });
    expect(result.latency_ms).toBeGreaterThanOrEqual(0);
    expect(runner.name).toBe('scripted');
    expect(createScriptedRunner({ script: {}, name: 'bench-runner' }).name).toBe('bench-runner');
  });

  it('records every call in order and hands out a copy', async () => {
    const runner = createScriptedRunner({ script: planScript });
    await runner.run(request({ attempt: 2 }), live());
    await runner.run(request({ role: 'implementer', stepId: 'S1', try: 1 }), live());
    const calls = runner.calls();
    expect(calls.map((c) => [c.role, c.stepId, c.attempt, c.try])).toEqual([
      ['planner', undefined, 2, 0],
      ['implementer', 'S1', 1, 1],
    ]);
    await runner.run(request(), live());
    expect(calls).toHaveLength(2);
    expect(runner.calls()).toHaveLength(3);
  });

  it('refuses edits when the request does not allow them', async () => {
    const runner = createScriptedRunner({
      script: { tasks: { 'T-1': { steps: { S1: { implementer: [{ edits: [{ path: 'a.txt', content: 'x' }], respond: {} }] } } } } },
    });
    const result = await runner.run(request({ role: 'implementer', stepId: 'S1', allowEdits: false }), live());
    expect([result.success, result.error_kind, result.error]).toEqual([
      false,
      'permission_denied',
      'scripted edit refused: the implementer may not edit files (tasks.T-1.steps.S1.implementer[0])',
    ]);
  });

  it('rejects an invalid script object with an InputError naming the field', () => {
    const build = (): unknown => createScriptedRunner({ script: { tasks: { 'T-1': { planner: [{ respond: 1, fail: 'auth' }] } } } });
    expect(build).toThrow(InputError);
    expect(build).toThrow(
      '<script object>: tasks.T-1.planner[0].fail: a turn has both respond and fail; give only one of respond, respond_text, raw, fail, hang',
    );
  });
});

describe('scripted runner: rate limits that reset', () => {
  it('is rate limited until rate_limited_until on its clock, with the time left as retry-after, then answers', async () => {
    const clock = manualClock(1_000);
    const runner = createScriptedRunner({ clock, script: { tasks: { 'T-1': { planner: [{ rate_limited_until: 61_000, respond: { ok: true } }] } } } });
    const live = { signal: new AbortController().signal };
    const limited = await runner.run(request(), live);
    expect(limited).toMatchObject({ success: false, error_kind: 'rate_limit', retry_after_ms: 60_000, error: 'scripted rate limit (tasks.T-1.planner[0])' });
    clock.advance(60_000);
    expect(await runner.run(request(), live)).toMatchObject({ success: true, response: '{"ok":true}' });
  });
});

describe('scripted runner: hang, delay and abort', () => {
  it('hangs until the signal aborts, then resolves as cancelled', async () => {
    const runner = createScriptedRunner({ script: { tasks: { 'T-1': { planner: [{ before: [{ hang: true }], respond: {} }] } } } });
    const controller = new AbortController();
    let settled = false;
    const pending = runner.run(request(), { signal: controller.signal }).then((result) => {
      settled = true;
      return result;
    });
    await settle(() => settled);
    expect(settled).toBe(false);
    controller.abort();
    const result = await pending;
    expect([result.success, result.error_kind]).toEqual([false, 'cancelled']);
    expect((await runner.run(request({ try: 1 }), live())).response).toBe('{}');
  });

  it('answers an already aborted call with cancelled', async () => {
    const runner = createScriptedRunner({ script: planScript });
    const result = await runner.run(request(), { signal: AbortSignal.abort() });
    expect([result.success, result.error_kind, result.response]).toEqual([false, 'cancelled', '']);
  });

  it('waits delay_ms on the injected clock before answering and reports it as latency', async () => {
    const clock = manualClock();
    const runner = createScriptedRunner({ script: { tasks: { 'T-1': { planner: [{ respond: { ok: 1 }, delay_ms: 500 }] } } }, clock });
    let settled = false;
    const pending = runner.run(request(), live()).then((result) => {
      settled = true;
      return result;
    });
    await settle(() => clock.pending() === 1);
    expect(clock.pending()).toBe(1);
    clock.advance(499);
    await settle(() => settled);
    expect(settled).toBe(false);
    clock.advance(1);
    const result = await pending;
    expect([result.success, result.response, result.latency_ms]).toEqual([true, '{"ok":1}', 500]);
  });

  it('stops a delay when the signal aborts', async () => {
    const clock = manualClock();
    const runner = createScriptedRunner({ script: { tasks: { 'T-1': { planner: [{ respond: {}, delay_ms: 10_000 }] } } }, clock });
    const controller = new AbortController();
    const pending = runner.run(request(), { signal: controller.signal });
    await settle(() => clock.pending() === 1);
    controller.abort();
    const result = await pending;
    expect([result.success, result.error_kind]).toEqual([false, 'cancelled']);
    expect(clock.pending()).toBe(0);
  });
});
