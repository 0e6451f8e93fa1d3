import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loggedEvents, startHarness, taskFile, waitUntil, type WatcherHarness } from './watcher-harness.js';

/**
 * A flood: 200 task files dropped at once while the watcher runs. Every one is claimed once, run
 * once (one planner call, one NEW, one finish) and reported; nothing is lost or rejected. The
 * store is in memory here (the file store's fsync per transition would triple the time); the
 * process-level tests in watcher.int.test.ts use the real CLI, store and git.
 */

const COUNT = 200;

describe('task watcher under a flood of files', () => {
  let h: WatcherHarness | undefined;

  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('runs each of 200 files exactly once', { timeout: 60_000 }, async () => {
    h = await startHarness({ concurrency: 16, store: 'memory' });
    const ids = Array.from({ length: COUNT }, (_, i) => `F${String(i + 1).padStart(3, '0')}`);
    await Promise.all(ids.map((id) => writeFile(join(h?.inbox ?? '', `${id.toLowerCase()}.task.md`), taskFile(id))));
    await waitUntil('every file to be processed', async () => (await h?.list('processed'))?.length === COUNT, 50_000);
    await h.watcher.idle();

    expect(await h.list('processed')).toEqual(ids.map((id) => `${id.toLowerCase()}.task.md`));
    expect(await h.list('results')).toEqual(ids.map((id) => `${id}.md`));
    expect(await h.list('summaries')).toEqual(ids.map((id) => `${id}.md`));
    expect(await h.list('rejected')).toEqual([]);
    expect((await h.list()).filter((n) => n.endsWith('.task.md'))).toEqual([]);
    expect(await h.list('.claimed/w-test')).toEqual([]);

    const records = await h.runtime.list();
    expect(records.map((r) => r.id).sort()).toEqual(ids);
    expect(records.every((r) => r.state === 'DONE')).toBe(true);
    const plannerCalls = new Map<string, number>();
    for (const call of h.runner.calls()) if (call.role === 'planner') plannerCalls.set(call.taskId, (plannerCalls.get(call.taskId) ?? 0) + 1);
    expect([...plannerCalls.values()].every((n) => n === 1)).toBe(true);
    expect(plannerCalls.size).toBe(COUNT);
    for (const id of ids) {
      const events = await loggedEvents(h.inbox, id);
      expect([id, events.filter((e) => e.type === 'task.state' && e.state === 'NEW').length, events.filter((e) => e.type === 'task.finished').length]).toEqual([
        id,
        1,
        1,
      ]);
    }
  });
});
