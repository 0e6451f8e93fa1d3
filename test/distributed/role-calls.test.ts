import { afterEach, describe, expect, it } from 'vitest';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import type { ExecutionResult } from '../../src/model/execution.js';
import type { AgentRunner } from '../../src/runners/agent-runner.js';
import { createMemoryBus } from '../../src/bus/memory-bus.js';
import { createMemoryStore } from '../../src/store/memory-store.js';
import { createMemoryWorkQueue } from '../../src/queue/memory-work-queue.js';
import { resultKey } from '../../src/model/role-work.js';
import type { Store } from '../../src/store/store.js';
import { roleQueue } from '../../src/queue/work-queue.js';
import { systemClock } from '../../src/platform/clock.js';
import { StoreError, TandemError } from '../../src/platform/errors.js';
import { memoRunners } from '../../src/distributed/memo-runners.js';
import { patientStore } from '../../src/distributed/patient-store.js';
import { createRemoteExecutor } from '../../src/distributed/remote-executor.js';
import { startRoleService, type RoleService } from '../../src/distributed/role-service.js';
import { createTaskLeases, leaseKey, type TaskLeases } from '../../src/distributed/task-leases.js';
import type { GateInput } from '../../src/model/role-contracts.js';
import type { RoleWork } from '../../src/roles/role-executor.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { manualClock } from '../helpers/manual-clock.js';

/** Role calls between a supervisor's executor and a role service, over the memory ports. */

const gateInput: GateInput = { taskId: 'T1', stepId: 'S1', attempt: 1, worktreePath: '/w/T1', baseCommit: 'a'.repeat(40) };
const report = { passed: true, summary: 'ok', duration_ms: 5, checks: [], regressions: [], flaky: [] };

function countingWork(calls: string[], gate?: (input: GateInput) => Promise<unknown>): RoleWork {
  const unused = (): Promise<never> => Promise.reject(new Error('not used here'));
  return {
    prepare: unused,
    commit: unused,
    plan: unused,
    reviewPlan: unused,
    implement: unused,
    reviewCode: unused,
    validate: unused,
    gate: async (input) => {
      calls.push(`${input.taskId}/${input.stepId}/${input.attempt}`);
      return (gate ? await gate(input) : report) as never;
    },
  };
}

const stops: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

function setup(work: RoleWork, store: Store = createMemoryStore(), inspect?: (event: InspectionEvent) => void) {
  const bus = createMemoryBus();
  const queue = createMemoryWorkQueue(roleQueue('quality-gate', { ackWaitMs: 200, retryDelayMs: 10 }));
  const executor = createRemoteExecutor({
    queues: new Map([['quality-gate', queue]]),
    store,
    bus,
    clock: systemClock,
    logger: silentLogger(),
    resultTimeoutMs: 5_000,
    pollMs: 50,
  });
  const service: RoleService = startRoleService({
    service: 'quality-gate',
    queue: queue.peer(),
    store,
    bus,
    work,
    clock: systemClock,
    logger: silentLogger(),
    ...(inspect ? { inspect } : {}),
  });
  stops.push(
    () => executor.close(),
    () => service.stop(),
    () => queue.close(),
  );
  return { bus, queue, executor, service, store };
}

describe('remote role calls', () => {
  it('runs a call on the service and hands back its stored result', async () => {
    const calls: string[] = [];
    const { executor, store, service } = setup(countingWork(calls));
    const output = await executor.run('gate', gateInput, { taskId: 'T1', invocation: 7, signal: new AbortController().signal });
    expect(output).toMatchObject({ passed: true, summary: 'ok' });
    expect(calls).toEqual(['T1/S1/1']);
    expect((await store.get(resultKey('T1.7.gate')))?.value).toMatchObject({ ok: true, service: 'quality-gate' });
    expect(service.stats()).toEqual({ ran: 1, replayed: 0, failed: 0, running: 0 });
  });

  it('answers the same call sent again (a restarted supervisor) from the store, without running it again', async () => {
    const calls: string[] = [];
    const { executor, queue, service } = setup(countingWork(calls));
    const signal = new AbortController().signal;
    await executor.run('gate', gateInput, { taskId: 'T1', invocation: 3, signal });
    await executor.run('gate', gateInput, { taskId: 'T1', invocation: 3, signal });
    // Even a copy that reaches the queue again (after the dedup window) is answered from the store.
    await queue.enqueue('tandem.v1.role.quality-gate.run', { type: 'role.gate', taskId: 'T1', key: 'T1.3.gate', at: 1, input: gateInput });
    await executor.run('gate', gateInput, { taskId: 'T1', invocation: 4, signal });
    expect(calls).toEqual(['T1/S1/1', 'T1/S1/1']);
    expect(service.stats()).toMatchObject({ ran: 2 });
  });

  it('turns a failure of the work into a named error for the supervisor, stored once', async () => {
    const { executor } = setup(countingWork([], () => Promise.reject(new TandemError('the worktree is gone', { retryable: false }))));
    const error = await executor.run('gate', gateInput, { taskId: 'T1', invocation: 1, signal: new AbortController().signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TandemError);
    expect((error as Error).message).toBe('the quality-gate service failed call T1.1.gate: the worktree is gone');
  });

  it("stops a task's calls in flight when the task is aborted, and answers them as cancelled", async () => {
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const hang = (_input: GateInput, signal?: AbortSignal): Promise<unknown> =>
      new Promise((_resolve, reject) => {
        started();
        signal?.addEventListener('abort', () => reject(new Error('killed')), { once: true });
      });
    const calls: string[] = [];
    const work = countingWork(calls);
    const { executor, bus } = setup({ ...work, gate: (input, signal) => hang(input, signal) as never });
    const pending = executor.run('gate', gateInput, { taskId: 'T1', invocation: 2, signal: new AbortController().signal }).catch((e: unknown) => e);
    await running;
    await bus.publish('tandem.v1.results.T1', { type: 'role.cancel', taskId: 'T1', at: 1, reason: 'aborted by a person' });
    const error = (await pending) as TandemError;
    expect(error.message).toBe('the quality-gate service failed call T1.2.gate: cancelled: the task was aborted: aborted by a person');
    expect(error.retryable).toBe(false);
  });

  it('runs each delivery as a role-call actor that the inspector sees, from received to acknowledged', async () => {
    const events: InspectionEvent[] = [];
    const { executor } = setup(countingWork([]), createMemoryStore(), (event) => events.push(event));
    await executor.run('gate', gateInput, { taskId: 'T1', invocation: 5, signal: new AbortController().signal });
    // Named by the call's key: the inspector lists it so.
    const actors = events.flatMap((e) => (e.type === '@xstate.actor' && (e.actorRef as AnyActorRef).id === 'roleCall T1.5.gate' ? [e.actorRef] : []));
    expect(actors).toHaveLength(1);
    const values = events.flatMap((e) => (e.type === '@xstate.snapshot' && e.actorRef === actors[0] ? [(e.snapshot as { value?: unknown }).value] : []));
    expect(values[0]).toBe('received');
    expect(values.at(-1)).toBe('acknowledged');
  });

  it('gives up waiting with a retryable error when no service answers', async () => {
    const bus = createMemoryBus();
    const queue = createMemoryWorkQueue(roleQueue('quality-gate'));
    const clock = manualClock();
    const executor = createRemoteExecutor({
      queues: new Map([['quality-gate', queue]]),
      store: createMemoryStore(),
      bus,
      clock,
      logger: silentLogger(),
      resultTimeoutMs: 1_000,
      pollMs: 400,
    });
    stops.push(
      () => executor.close(),
      () => queue.close(),
    );
    const pending = executor.run('gate', gateInput, { taskId: 'T1', invocation: 1, signal: new AbortController().signal }).catch((e: unknown) => e);
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setImmediate(r));
      clock.advance(400);
    }
    const error = (await pending) as TandemError;
    expect(error.message).toMatch(/no role service answered call T1\.1\.gate within 1 s/);
    expect(error.retryable).toBe(true);
  });
});

describe('memoRunners', () => {
  const answer: ExecutionResult = {
    provider: 'p',
    model: 'm',
    role: 'planner',
    response: 'the plan',
    tokens_input: 10,
    tokens_output: 5,
    tokens_estimated: false,
    cost_usd: 0.01,
    latency_ms: 3,
    success: true,
    runner: 'fake',
  };

  it('stores every answer before the caller sees it, and replays it for the same call instead of asking again', async () => {
    let asked = 0;
    const runner: AgentRunner = { name: 'fake', run: () => Promise.resolve({ ...answer, response: `answer ${++asked}` }) };
    const store = createMemoryStore();
    const memo = memoRunners(new Map([['fake', runner]]), { store });
    const wrapped = memo.runners.get('fake')!;
    const request = {
      role: 'planner',
      taskId: 'T1',
      attempt: 1,
      try: 0,
      prompt: 'p',
      cwd: '/',
      model: { provider: 'p', model: 'm', runner: 'fake' },
      allowEdits: false,
      timeoutMs: 1_000,
    } as const;
    const signal = new AbortController().signal;
    const first = await memo.within('T1.2.plan', async () => [await wrapped.run(request, { signal }), await wrapped.run(request, { signal })]);
    expect(first.map((r) => [r.response, r.replayed])).toEqual([
      ['answer 1', undefined],
      ['answer 2', undefined],
    ]);
    expect(await memo.answeredBefore('T1.2.plan')).toBe(true);
    // The service died; the call runs again: both answers come from the store, nothing is asked.
    const again = await memo.within('T1.2.plan', async () => [await wrapped.run(request, { signal }), await wrapped.run(request, { signal })]);
    expect(again.map((r) => [r.response, r.replayed])).toEqual([
      ['answer 1', true],
      ['answer 2', true],
    ]);
    expect(asked).toBe(2);
    // Outside a role call (the embedded runtime) the runner is only passed through.
    await wrapped.run(request, { signal });
    expect(asked).toBe(3);
  });
});

describe('patientStore', () => {
  it('retries while the store is unavailable, and takes a timed-out write that landed as done', async () => {
    const inner = createMemoryStore();
    let failures = 2;
    const flaky: Store = {
      ...inner,
      get: (key) => inner.get(key),
      list: (prefix) => inner.list(prefix),
      delete: (key, options) => inner.delete(key, options),
      close: () => inner.close(),
      async put(key, value, options) {
        if (failures-- > 0) {
          // The first attempt lands but its answer is lost, as a timeout can.
          if (failures === 1) await inner.put(key, value, options);
          throw new StoreError('unavailable', 'timeout');
        }
        return inner.put(key, value, options);
      },
    };
    const store = patientStore(flaky, { clock: systemClock, limitMs: 5_000 });
    const revision = await store.put('ledger.T1.a', { usd: 1 }, { expectedRevision: 0 });
    expect((await inner.get('ledger.T1.a'))?.revision).toBe(revision);
    // A real conflict (another value) is still a conflict.
    failures = 1;
    await inner.put('ledger.T1.b', { usd: 2 });
    await expect(store.put('ledger.T1.b', { usd: 3 }, { expectedRevision: 0 })).rejects.toMatchObject({ code: 'conflict' });
  });

  it("gives up after its limit with the store's own error", async () => {
    const clock = manualClock();
    const down: Store = { ...createMemoryStore(), get: () => Promise.reject(new StoreError('unavailable', 'no server')) };
    const pending = patientStore(down, { clock, limitMs: 300 })
      .get('tasks.T1')
      .catch((e: unknown) => e);
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setImmediate(r));
      clock.advance(200);
    }
    expect(await pending).toMatchObject({ code: 'unavailable', message: 'no server' });
  });
});

describe('task leases', () => {
  function leases(store: Store, owner: string, clock = systemClock, lost: string[] = [], ttlMs = 60_000): TaskLeases {
    const l = createTaskLeases({ store, owner, ttlMs, clock, logger: silentLogger(), onLost: (id) => lost.push(id) });
    stops.push(() => l.close());
    return l;
  }

  it('lets one supervisor hold a task; another takes it only once the lease expired', async () => {
    const store = createMemoryStore();
    const clock = manualClock(10_000);
    const a = leases(store, 'a', clock);
    const b = leases(store, 'b', clock);
    expect(await a.claim('T1')).toBe(true);
    expect(await b.claim('T1')).toBe(false);
    expect(await b.isFree('T1')).toBe(false);
    expect(await a.claim('T1')).toBe(true);
    clock.advance(60_001);
    expect(await b.isFree('T1')).toBe(true);
    expect(await b.claim('T1')).toBe(true);
    expect(b.held()).toEqual(['T1']);
  });

  it('releases on rest and on close, so another supervisor takes over at once', async () => {
    const store = createMemoryStore();
    const a = leases(store, 'a');
    const b = leases(store, 'b');
    expect(await a.claim('T1')).toBe(true);
    await a.release('T1');
    expect(await store.get(leaseKey('T1'))).toBeUndefined();
    expect(await a.claim('T2')).toBe(true);
    await a.close();
    expect(await b.claim('T2')).toBe(true);
  });

  it('notices a lease taken over when renewing, and says so', async () => {
    const store = createMemoryStore();
    const lost: string[] = [];
    const a = leases(store, 'a', systemClock, lost, 60);
    expect(await a.claim('T1')).toBe(true);
    // Another supervisor overwrites it (as after an expiry).
    await store.put(leaseKey('T1'), { owner: 'b', expiresAt: Date.now() + 60_000 });
    for (let i = 0; i < 50 && lost.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(lost).toEqual(['T1']);
    expect(a.held()).toEqual([]);
  });
});
