import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryBus } from '../../src/bus/memory-bus.js';
import { subject } from '../../src/bus/subjects.js';
import { createRemoteTasks, type RemoteTasks } from '../../src/distributed/remote-tasks.js';
import { decisionKey } from '../../src/distributed/supervisor-service.js';
import type { BusMessage } from '../../src/model/task-events.js';
import { taskKey, type TaskRecord } from '../../src/model/task-record.js';
import { systemClock } from '../../src/platform/clock.js';
import { InputError } from '../../src/platform/errors.js';
import { createMemoryWorkQueue } from '../../src/queue/memory-work-queue.js';
import { submissionsQueue } from '../../src/queue/work-queue.js';
import { createMemoryStore } from '../../src/store/memory-store.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import type { ResolvedTask } from '../../src/tasks/resolve-repos.js';
import { TaskSpecSchema } from '../../src/model/task-spec.js';

/**
 * The people tools' view of a distributed deployment (watch / bot --nats): what they send, what they
 * store, and when an outcome settles, against the in-memory bus, store and queue the services'
 * own tests use. The end-to-end path over a real NATS is test/distributed/people-tools.int.test.ts.
 */

const spec = TaskSpecSchema.parse({ id: 'T1', goal: 'Write the note' });
const task: ResolvedTask = { spec, repo: '/repo', base: 'main', baseCommit: 'a'.repeat(40) };

function record(state: TaskRecord['state'], extra: Partial<TaskRecord> = {}): TaskRecord {
  return {
    version: 1,
    id: 'T1',
    spec,
    repo: '/repo',
    base: 'main',
    baseCommit: 'a'.repeat(40),
    state,
    attempt: 0,
    commits: [],
    costUsd: 0,
    createdAt: 1,
    updatedAt: 2,
    ...extra,
  };
}

let tasks: RemoteTasks | undefined;
afterEach(() => tasks?.close());

function setup() {
  const store = createMemoryStore();
  const bus = createMemoryBus();
  const submissions = createMemoryWorkQueue(submissionsQueue());
  const control: BusMessage[] = [];
  bus.subscribe(subject({ kind: 'control.all' }), (message) => void control.push(message));
  tasks = createRemoteTasks({ store, bus, submissions, clock: systemClock, logger: silentLogger(), by: 'ana', pollMs: 20 });
  return { store, bus, submissions, control, tasks };
}

describe('createRemoteTasks', () => {
  it('submits to the supervisors queue once per id, and the outcome is the record once it rests', async () => {
    const { store, submissions, tasks } = setup();
    const received: BusMessage[] = [];
    const consumer = submissions.consume((delivery) => {
      received.push(delivery.message);
      return Promise.resolve();
    });
    const handle = await tasks.submit(task);
    await expect.poll(() => received.length).toBe(1);
    expect(received[0]).toMatchObject({ type: 'task.submit', spec: { id: 'T1' }, repo: '/repo', baseCommit: 'a'.repeat(40) });

    let settled: string | undefined;
    void handle.outcome.then((o) => (settled = o.state));
    const revision = await store.put(taskKey('T1'), record('PLANNING'), { expectedRevision: 0 });
    await new Promise((r) => setTimeout(r, 100));
    expect(settled).toBeUndefined();
    await store.put(taskKey('T1'), record('DONE'), { expectedRevision: revision });
    expect((await handle.outcome).state).toBe('DONE');
    // The same id again is refused: it exists.
    await expect(tasks.submit(task)).rejects.toBeInstanceOf(InputError);
    await consumer.stop();
  });

  it("stores a person's decision for a supervisor and settles only once the task rests again after it", async () => {
    const { store, control, tasks } = setup();
    const revision = await store.put(taskKey('T1'), record('AWAITING_HUMAN_REVIEW', { waiting: { stage: 'step', kind: 'role_failed', reason: 'r' } }), {
      expectedRevision: 0,
    });
    const handle = await tasks.decide('T1', { decision: 'skip_step' });
    expect((await store.get(decisionKey('T1')))?.value).toMatchObject({ decision: { decision: 'skip_step' }, by: 'ana' });
    expect(control.map((m) => m.type)).toEqual(['review.decision']);
    // A second decision while the first waits is refused, naming why.
    await expect(tasks.decide('T1', { decision: 'abort' })).rejects.toThrow(/already waiting for a supervisor/);
    let settled: string | undefined;
    void handle.outcome.then((o) => (settled = o.state));
    await new Promise((r) => setTimeout(r, 100));
    expect(settled).toBeUndefined();
    await store.put(taskKey('T1'), record('DONE'), { expectedRevision: revision });
    expect((await handle.outcome).state).toBe('DONE');
  });

  it('aborts a waiting task through a stored decision, and a running one by announcing it until it ends', async () => {
    const { store, control, tasks } = setup();
    const revision = await store.put(taskKey('T1'), record('IMPLEMENTING'), { expectedRevision: 0 });
    const outcome = tasks.abort('T1', 'not needed');
    // Announced again while no supervisor has ended it (a task.abort nobody heard is not lost).
    await expect.poll(() => control.filter((m) => m.type === 'task.abort').length).toBeGreaterThan(2);
    await store.put(taskKey('T1'), record('ABORTED'), { expectedRevision: revision });
    expect((await outcome).state).toBe('ABORTED');
    expect(control.find((m) => m.type === 'task.abort')).toMatchObject({ taskId: 'T1', reason: 'not needed' });

    await store.put(taskKey('T2'), { ...record('AWAITING_HUMAN_REVIEW'), id: 'T2' }, { expectedRevision: 0 });
    void tasks.abort('T2');
    await expect.poll(async () => (await store.get(decisionKey('T2')))?.value).toMatchObject({ decision: { decision: 'abort' } });
  });
});
