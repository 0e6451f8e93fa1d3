import { describe, expect, it } from 'vitest';
import { createScriptedRunner } from '../../src/runners/scripted.js';
import type { Bus } from '../../src/bus/bus.js';
import { createMemoryBus } from '../../src/bus/memory-bus.js';
import { createMemoryStore } from '../../src/store/memory-store.js';
import type { TaskEvent } from '../../src/model/task-events.js';
import type { Store } from '../../src/store/store.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { TaskSpecSchema } from '../../src/model/task-spec.js';
import { fakeWorkspace, passingGate } from '../helpers/fake-ports.js';
import { manualClock } from '../helpers/manual-clock.js';

const config = ConfigSchema.parse({ runner_override: 'scripted' });
const task = (id: string, extra: Record<string, unknown> = {}) => ({
  spec: TaskSpecSchema.parse({ id, goal: 'do it', ...extra }),
  repo: '/repo',
  base: 'main',
  baseCommit: 'abc',
});
const plan = (id: string) => ({ task_id: id, steps: [{ id: 'S1', type: 'implementation', description: 'one' }] });

function setup(
  script: Parameters<typeof createScriptedRunner>[0]['script'],
  options: { store?: Store; bus?: Bus; clock?: ReturnType<typeof manualClock> } = {},
) {
  const runner = createScriptedRunner({ script, ...(options.clock ? { clock: options.clock } : {}) });
  const bus = options.bus ?? createMemoryBus();
  const events: TaskEvent[] = [];
  const workspace = fakeWorkspace();
  const runtime = createRuntime({
    config,
    runners: new Map([['scripted', runner]]),
    store: options.store ?? createMemoryStore(),
    bus,
    gate: passingGate(),
    workspace,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  runtime.onEvent((e) => events.push(e));
  return { runtime, runner, events, workspace, bus };
}

const approveAll = {
  'plan-reviewer': [{ respond: { status: 'approved' } }],
  'code-reviewer': [{ respond: { status: 'approved' } }],
  implementer: [{ respond: { explanation: 'done', confidence: 0.9 } }],
};

describe('runtime', () => {
  it('stores every transition before the effect it starts (persist before effects)', async () => {
    const base = createMemoryStore();
    const log: string[] = [];
    // A store whose writes are slow: an effect that started before its write finished would show up first.
    const slowStore: Store = {
      ...base,
      get: (key) => base.get(key),
      list: (prefix) => base.list(prefix),
      delete: (key, o) => base.delete(key, o),
      close: () => base.close(),
      async put(key, value, o) {
        await new Promise((r) => setTimeout(r, 5));
        const revision = await base.put(key, value, o);
        log.push(`stored ${(value as { state: string }).state}`);
        return revision;
      },
    };
    const { runtime, runner } = setup({ defaults: approveAll, tasks: { T1: { planner: [{ respond: plan('T1') }] } } }, { store: slowStore });
    const original = runner.run.bind(runner);
    runner.run = (request, opts) => {
      log.push(`call ${request.role}`);
      return original(request, opts);
    };
    const outcome = await (await runtime.submit(task('T1'))).outcome;
    expect(outcome.state).toBe('DONE');
    const order = (entry: string) => log.indexOf(entry);
    expect(order('stored PLANNING')).toBeLessThan(order('call planner'));
    expect(order('stored PLAN_REVIEW')).toBeLessThan(order('call plan-reviewer'));
    expect(order('stored IMPLEMENTING')).toBeLessThan(order('call implementer'));
    expect(order('stored CODE_REVIEW')).toBeLessThan(order('call code-reviewer'));
    await runtime.close();
  });

  it('publishes the lifecycle in order and ends with task.finished', async () => {
    const { runtime, events } = setup({ defaults: approveAll, tasks: { T1: { planner: [{ respond: plan('T1') }] } } });
    await (await runtime.submit(task('T1'))).outcome;
    await runtime.idle();
    expect(events.filter((e) => e.type === 'task.state').map((e) => (e.type === 'task.state' ? e.state : ''))).toEqual([
      'NEW',
      'PLANNING',
      'PLAN_REVIEW',
      'PLANNED',
      'IMPLEMENTING',
      'CODE_REVIEW',
      'QUALITY_GATE',
      'STEP_COMPLETE',
      'VALIDATING',
      'DONE',
    ]);
    expect(events.at(-1)).toMatchObject({ type: 'task.finished', taskId: 'T1', state: 'DONE', commits: ['sha-0'], branch: 'tandem/T1' });
    await runtime.close();
  });

  it('sends a task past its time limit to a person, measured on the injected clock', async () => {
    const clock = manualClock(0);
    const { runtime } = setup(
      { defaults: approveAll, tasks: { T1: { planner: [{ respond: plan('T1') }], steps: { S1: { implementer: [{ hang: true }] } } } } },
      { clock },
    );
    const handle = await runtime.submit(task('T1', { time_limit_minutes: 30 }));
    for (let i = 0; i < 200 && (await runtime.get('T1'))?.state !== 'IMPLEMENTING'; i++) await new Promise((r) => setImmediate(r));
    clock.advance(29 * 60_000);
    await new Promise((r) => setImmediate(r));
    expect((await runtime.get('T1'))?.state).toBe('IMPLEMENTING');
    clock.advance(2 * 60_000);
    const outcome = await handle.outcome;
    expect(outcome.state).toBe('AWAITING_HUMAN_REVIEW');
    expect(outcome.reason).toBe('the task ran longer than its limit of 30 minutes');
    await runtime.close();
  });

  it('keeps counting the time limit across a restart (the restored machine re-arms its delayed transition)', async () => {
    const store = createMemoryStore();
    const clock = manualClock(0);
    const script = { defaults: approveAll, tasks: { T1: { planner: [{ respond: plan('T1') }], steps: { S1: { implementer: [{ hang: true as const }] } } } } };
    const first = setup(script, { store, clock });
    const handle = await first.runtime.submit(task('T1', { time_limit_minutes: 30 }));
    for (let i = 0; i < 200 && (await first.runtime.get('T1'))?.state !== 'IMPLEMENTING'; i++) await new Promise((r) => setImmediate(r));
    const invocation = (await first.runtime.get('T1'))?.invocations;
    await first.runtime.close();
    await handle.outcome;
    clock.advance(20 * 60_000);

    const second = setup(script, { store, clock });
    const [resumed] = await second.runtime.resume();
    for (let i = 0; i < 200 && second.runner.calls().length === 0; i++) await new Promise((r) => setImmediate(r));
    // The re-sent call is the same invocation: its idempotency key does not change.
    expect((await second.runtime.get('T1'))?.invocations).toBe(invocation);
    clock.advance(9 * 60_000);
    await new Promise((r) => setImmediate(r));
    expect((await second.runtime.get('T1'))?.state).toBe('IMPLEMENTING');
    clock.advance(2 * 60_000);
    const outcome = await resumed?.outcome;
    expect(outcome?.state).toBe('AWAITING_HUMAN_REVIEW');
    expect(outcome?.reason).toBe('the task ran longer than its limit of 30 minutes');
    await second.runtime.close();
  });

  it('runs a paused task again after the rate limit resets, on the injected clock', async () => {
    const clock = manualClock(0);
    const { runtime, runner } = setup(
      {
        defaults: approveAll,
        tasks: { T1: { planner: [{ respond: plan('T1') }], steps: { S1: { implementer: [{ rate_limited_until: 60_000, respond: { explanation: 'ok' } }] } } } },
      },
      { clock },
    );
    const handle = await runtime.submit(task('T1'));
    for (let i = 0; i < 200 && (await runtime.get('T1'))?.state !== 'PAUSED'; i++) await new Promise((r) => setImmediate(r));
    const paused = await runtime.get('T1');
    expect(paused?.state).toBe('PAUSED');
    expect(paused?.pausedUntil).toBe(60_000);
    clock.advance(60_000);
    expect((await handle.outcome).state).toBe('DONE');
    // The pause did not spend an attempt: attempt 1 was rate-limited and answered again as attempt 1.
    expect(
      runner
        .calls()
        .filter((c) => c.role === 'implementer')
        .map((c) => c.attempt),
    ).toEqual([1, 1]);
    await runtime.close();
  });

  it('close() stops running tasks where they stand; resume() continues them', async () => {
    const store = createMemoryStore();
    const script = {
      defaults: approveAll,
      tasks: { T1: { planner: [{ respond: plan('T1') }], steps: { S1: { implementer: [{ delay_ms: 60_000, respond: { explanation: 'slow' } }] } } } },
    };
    const clock = manualClock(0);
    const first = setup(script, { store, clock });
    const handle = await first.runtime.submit(task('T1'));
    for (let i = 0; i < 200 && (await first.runtime.get('T1'))?.state !== 'IMPLEMENTING'; i++) await new Promise((r) => setImmediate(r));
    await first.runtime.close();
    await expect(handle.outcome).resolves.toMatchObject({ state: 'IMPLEMENTING' });

    const second = setup({ defaults: approveAll, tasks: { T1: { planner: [{ respond: plan('T1') }] } } }, { store, clock });
    const [resumed] = await second.runtime.resume();
    expect(resumed?.id).toBe('T1');
    const done = await resumed?.outcome;
    expect(done?.reason).toBeUndefined();
    expect(done?.state).toBe('DONE');
    expect(second.runner.calls().map((c) => c.role)).toEqual(['implementer', 'code-reviewer', 'validator']);
    await second.runtime.close();
  });
});
