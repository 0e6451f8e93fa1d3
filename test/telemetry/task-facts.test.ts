import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../src/store/memory-store.js';
import { taskKey, type TaskRecord } from '../../src/model/task-record.js';
import { TaskSpecSchema } from '../../src/model/task-spec.js';
import { taskFactsFromStore } from '../../src/telemetry/task-facts.js';

const record = (snapshot: unknown): TaskRecord => ({
  version: 1,
  id: 'T1',
  spec: TaskSpecSchema.parse({ id: 'T1', goal: 'g', risk: 'low', area: 'docs', type: 'docs', priority: 'high' }),
  repo: '/r',
  base: 'main',
  baseCommit: 'abc',
  state: 'IMPLEMENTING',
  attempt: 1,
  commits: [],
  costUsd: 0,
  createdAt: 1,
  updatedAt: 1,
  snapshot,
});

describe('taskFactsFromStore', () => {
  it("reads the task's risk, area and type, and its plan's steps from the stored snapshot", async () => {
    const store = createMemoryStore();
    await store.put(
      taskKey('T1'),
      record({
        value: 'IMPLEMENTING',
        context: { plan: { steps: [{ id: 'S1', type: 'docs', risk: 'low', estimated_complexity: 'trivial', description: 'd' }] } },
      }),
    );
    const facts = await taskFactsFromStore(store)('T1');
    expect(facts && { ...facts, steps: Object.fromEntries(facts.steps) }).toEqual({
      risk: 'low',
      area: 'docs',
      type: 'docs',
      priority: 'high',
      steps: { S1: { type: 'docs', risk: 'low', complexity: 'trivial' } },
    });
  });

  it('has no steps before a plan or for a snapshot of another shape, and nothing for an unknown or corrupt task', async () => {
    const store = createMemoryStore();
    await store.put(taskKey('T1'), record({ something: 'else' }));
    await store.put(taskKey('T2'), { not: 'a record' });
    const lookup = taskFactsFromStore(store);
    expect((await lookup('T1'))?.steps.size).toBe(0);
    expect(await lookup('T2')).toBeUndefined();
    expect(await lookup('T3')).toBeUndefined();
  });
});
