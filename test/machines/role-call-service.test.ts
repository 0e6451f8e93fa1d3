import { createActor, fromPromise, waitFor } from 'xstate';
import { describe, expect, it } from 'vitest';
import type { RoleRunMessage } from '../../src/model/role-work.js';
import { StoreError, TandemError } from '../../src/platform/errors.js';
import {
  roleCallMachine,
  type CallRef,
  type RoleCallContext,
  type RoleCallInput,
  type RunCallInput,
  type StoreCallInput,
} from '../../src/machines/role-call-service.js';

/** The role-call machine driven with fake effects: what it stores, and whether it acks or naks. */

const gateCall: RoleRunMessage = {
  type: 'role.gate',
  taskId: 'T1',
  key: 'T1.3.gate',
  at: 1,
  input: { taskId: 'T1', stepId: 'S1', attempt: 1, worktreePath: '/w/T1', baseCommit: 'a'.repeat(40) },
};
const report = { passed: true, summary: 'ok' };

interface Fakes {
  /** Whether a result is stored already. */
  readonly stored?: boolean;
  /** Whether the call's model answered before. */
  readonly answered?: boolean;
  /** The work; by default it answers `report`. */
  readonly run?: (input: RunCallInput, signal: AbortSignal) => Promise<unknown>;
  readonly store?: (input: StoreCallInput) => Promise<void>;
}

function start(fakes: Fakes = {}, input: RoleCallInput = { service: 'quality-gate', message: gateCall, delivery: 1 }) {
  const log = {
    runs: [] as RunCallInput[],
    stored: [] as StoreCallInput[],
    announced: [] as CallRef[],
    acks: 0,
    naks: [] as unknown[],
    phases: [] as string[],
  };
  const machine = roleCallMachine.provide({
    actors: {
      findResult: fromPromise<boolean, CallRef>(() => Promise.resolve(fakes.stored ?? false)),
      recall: fromPromise<boolean, CallRef>(() => Promise.resolve(fakes.answered ?? false)),
      run: fromPromise<unknown, RunCallInput>(({ input: call, signal }) => {
        log.runs.push(call);
        return fakes.run ? fakes.run(call, signal) : Promise.resolve(report);
      }),
      store: fromPromise<void, StoreCallInput>(({ input: call }) => {
        log.stored.push(call);
        return fakes.store ? fakes.store(call) : Promise.resolve();
      }),
      announce: fromPromise<void, CallRef>(({ input: call }) => {
        log.announced.push(call);
        return Promise.resolve();
      }),
    },
    actions: {
      ack: () => void log.acks++,
      nak: ({ context }) => void log.naks.push(context.error),
    },
  });
  const actor = createActor(machine, { input });
  actor.subscribe((snapshot) => {
    const phase = (['received', 'replaying', 'resuming', 'running', 'storing', 'acknowledged', 'cancelled', 'handedBack'] as const).find((p) =>
      snapshot.hasTag(p),
    );
    if (phase !== undefined && log.phases.at(-1) !== phase) log.phases.push(phase);
  });
  actor.start();
  const finished = async (): Promise<{ value: unknown; context: RoleCallContext }> => {
    const snapshot = await waitFor(actor, (s) => s.status === 'done', { timeout: 1_000 });
    return { value: snapshot.value, context: snapshot.context };
  };
  return { actor, log, finished };
}

/** A run that never answers by itself: it rejects once its signal aborts, and says it saw the abort. */
function hanging(aborted: { seen: boolean }, started: () => void) {
  return (_input: RunCallInput, signal: AbortSignal): Promise<unknown> =>
    new Promise((_resolve, reject) => {
      started();
      const onAbort = (): void => {
        aborted.seen = true;
        reject(new Error('killed'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
}

const ref = { key: 'T1.3.gate', taskId: 'T1', work: 'gate' };

describe('role-call machine', () => {
  it('runs a new call, stores its answer, then acknowledges it', async () => {
    const t = start();
    const { value, context } = await t.finished();
    expect(value).toBe('acknowledged');
    expect(t.log.phases).toEqual(['received', 'running', 'storing', 'acknowledged']);
    expect(t.log.runs).toEqual([{ ...ref, input: gateCall.input, resumed: false }]);
    expect(t.log.stored).toEqual([{ ...ref, result: { ok: true, output: report } }]);
    expect(t.log.acks).toBe(1);
    expect(t.log.naks).toEqual([]);
    expect(context).toMatchObject({ ran: true, replayed: false, resumed: false, cancelled: false });
  });

  it('answers a call stored before from the store: announced and acknowledged, not run or stored again', async () => {
    const t = start({ stored: true });
    const { value, context } = await t.finished();
    expect(value).toBe('acknowledged');
    expect(t.log.phases).toEqual(['received', 'replaying', 'acknowledged']);
    expect(t.log.runs).toEqual([]);
    expect(t.log.stored).toEqual([]);
    expect(t.log.announced).toEqual([ref]);
    expect(t.log.acks).toBe(1);
    expect(context).toMatchObject({ ran: false, replayed: true });
  });

  it('finishes a call whose model answered before as resumed, so its memoized answers are replayed', async () => {
    const t = start({ answered: true });
    const { value, context } = await t.finished();
    expect(value).toBe('acknowledged');
    expect(t.log.phases).toEqual(['received', 'running', 'resuming', 'storing', 'acknowledged']);
    expect(t.log.runs).toEqual([{ ...ref, input: gateCall.input, resumed: true }]);
    expect(t.log.stored).toEqual([{ ...ref, result: { ok: true, output: report } }]);
    expect(context.resumed).toBe(true);
  });

  it('hands a call back when its result cannot be stored: no ack, the queue delivers it again', async () => {
    const away = new StoreError('unavailable', 'no server');
    const t = start({ store: () => Promise.reject(away) });
    const { value } = await t.finished();
    expect(value).toBe('handedBack');
    expect(t.log.stored).toEqual([{ ...ref, result: { ok: true, output: report } }]);
    expect(t.log.acks).toBe(0);
    expect(t.log.naks).toEqual([away]);
  });

  it('hands a call back when the store goes away during the run, storing nothing', async () => {
    const away = new StoreError('unavailable', 'no server');
    const t = start({ run: () => Promise.reject(away) });
    expect((await t.finished()).value).toBe('handedBack');
    expect(t.log.stored).toEqual([]);
    expect(t.log.naks).toEqual([away]);
  });

  it("stores a failed run as the call's failure, with its retryability, and acknowledges it", async () => {
    const t = start({ run: () => Promise.reject(new TandemError('the worktree is gone', { retryable: true })) });
    const { value, context } = await t.finished();
    expect(value).toBe('acknowledged');
    expect(t.log.stored).toEqual([{ ...ref, result: { ok: false, error: 'the worktree is gone', retryable: true } }]);
    expect(t.log.acks).toBe(1);
    expect(t.log.naks).toEqual([]);
    expect(context.ran).toBe(false);
  });

  it('stops the run of an aborted task and stores it as cancelled, not retryable', async () => {
    const aborted = { seen: false };
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const t = start({ run: hanging(aborted, started) });
    await running;
    t.actor.send({ type: 'CANCEL', reason: 'aborted by a person' });
    const { value } = await t.finished();
    expect(value).toBe('cancelled');
    expect(aborted.seen).toBe(true);
    expect(t.log.stored).toEqual([{ ...ref, result: { ok: false, error: 'cancelled: the task was aborted: aborted by a person', retryable: false } }]);
    expect(t.log.acks).toBe(1);
  });

  it('hands a running call back on shutdown: its run is stopped and nothing is stored', async () => {
    const aborted = { seen: false };
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const t = start({ run: hanging(aborted, started) });
    await running;
    const reason = new Error('the consumer is stopping: the message goes back to the queue');
    t.actor.send({ type: 'HAND_BACK', reason });
    expect((await t.finished()).value).toBe('handedBack');
    expect(aborted.seen).toBe(true);
    expect(t.log.stored).toEqual([]);
    expect(t.log.naks).toEqual([reason]);
    expect(t.log.acks).toBe(0);
  });

  it("answers work that is not the service's own as a failure without running it", async () => {
    const t = start({}, { service: 'planner', message: gateCall, delivery: 2 });
    expect((await t.finished()).value).toBe('acknowledged');
    expect(t.log.runs).toEqual([]);
    expect(t.log.stored).toEqual([{ ...ref, result: { ok: false, error: 'the planner service does not do "gate" work', retryable: false } }]);
  });

  it('ignores a cancel notice once the result is being stored: the answer stands', async () => {
    let release!: () => void;
    const t = start({ store: () => new Promise<void>((resolve) => (release = resolve)) });
    await waitFor(t.actor, (s) => s.hasTag('storing'));
    t.actor.send({ type: 'CANCEL' });
    release();
    expect((await t.finished()).value).toBe('acknowledged');
    expect(t.log.stored).toEqual([{ ...ref, result: { ok: true, output: report } }]);
  });
});
