import { link, mkdtemp, readdir, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  SettleTracker,
  claimFile,
  claimedNameOf,
  isTaskFileName,
  linkUnique,
  ownerIdOf,
  removeStaleTemps,
  watchPaths,
  writeAtomic,
} from '../../src/intake/claim-file.js';
import { closingEvents } from '../../src/intake/watcher.js';
import type { TaskRecord } from '../../src/model/task-record.js';
import { TaskSpecSchema } from '../../src/model/task-spec.js';

/** The pieces the watcher's guarantees rest on: settling, atomic claims, idempotent moves, log repair. */

describe('claiming files', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await realpath(await mkdtemp(join(tmpdir(), 'tandem-claim-')));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('takes task files only', () => {
    expect(['fix.task.md', 'tasks.yaml', 'tasks.yml', 'nightly.tasks.yaml', 'FIX.TASK.MD'].map(isTaskFileName)).toEqual([true, true, true, true, true]);
    expect(['notes.md', 'fix.yaml', '.fix.task.md', 'fix.task.md.part', 'fix.task.md.tmp', 'fix.task.md~'].map(isTaskFileName)).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
  });

  it('calls a file ready once its size and mtime held still for the settle time', () => {
    const tracker = new SettleTracker(500);
    const seen = (size: number, mtimeMs: number) => new Map([['a.task.md', { size, mtimeMs }]]);
    expect(tracker.observe(seen(10, 1), 0)).toEqual([]);
    expect(tracker.observe(seen(10, 1), 499)).toEqual([]);
    expect(tracker.observe(seen(20, 2), 600)).toEqual([]);
    expect(tracker.observe(seen(20, 2), 1_099)).toEqual([]);
    expect(tracker.observe(seen(20, 2), 1_100)).toEqual([{ name: 'a.task.md', stamp: { size: 20, mtimeMs: 2 } }]);
    expect(tracker.observe(new Map(), 1_200)).toEqual([]);
    expect(tracker.pending).toBe(0);
  });

  it('gives a file to exactly one of many claimers', async () => {
    await writeFile(join(dir, 'x.task.md'), 'x');
    const claimers = ['w-a', 'w-b', 'w-c', 'w-d'].map((owner) => claimFile(watchPaths(dir, owner), 'x.task.md', 1_000));
    const claims = (await Promise.all(claimers)).filter((c) => c !== undefined);
    expect(claims).toHaveLength(1);
    expect(claims[0]?.name).toBe('x.task.md');
    expect(claimedNameOf(claims[0]?.path ?? '')).toBe('x.task.md');
    expect(await readdir(dir)).toEqual(['.claimed']);
  });

  it('names claims folders by state dir', () => {
    expect(ownerIdOf('/srv/a/.tandem')).toBe(ownerIdOf('/srv/a/.tandem'));
    expect(ownerIdOf('/srv/a/.tandem')).not.toBe(ownerIdOf('/srv/b/.tandem'));
    expect(ownerIdOf('/srv/a/.tandem')).toMatch(/^w-[0-9a-f]{12}$/);
  });

  it('numbers a moved file instead of replacing one of the same name, and finds its own earlier link', async () => {
    const target = join(dir, 'done');
    await writeFile(join(dir, 'first'), 'one');
    await writeFile(join(dir, 'second'), 'two');
    expect(await linkUnique(join(dir, 'first'), target, 'fix.task.md')).toBe(join(target, 'fix.task.md'));
    expect(await linkUnique(join(dir, 'second'), target, 'fix.task.md')).toBe(join(target, 'fix.2.task.md'));
    // A second life moving the same file again (the first died before removing it) gets the same place.
    expect(await linkUnique(join(dir, 'second'), target, 'fix.task.md')).toBe(join(target, 'fix.2.task.md'));
    expect((await readdir(target)).sort()).toEqual(['fix.2.task.md', 'fix.task.md']);
  });

  it('writes atomically and clears temporary files of dead writers only', async () => {
    await writeAtomic(join(dir, 'r.md'), 'result');
    expect(await readdir(dir)).toEqual(['r.md']);
    await writeFile(join(dir, '.r.md.999999999.abcdef.tmp'), 'torn');
    await writeFile(join(dir, `.q.md.${process.ppid}.abcdef.tmp`), 'in progress');
    await link(join(dir, 'r.md'), join(dir, 'keep.md'));
    await removeStaleTemps([dir]);
    expect((await readdir(dir)).sort()).toEqual([`.q.md.${process.ppid}.abcdef.tmp`, 'keep.md', 'r.md']);
  });
});

describe('closing events of a log cut short by a kill', () => {
  const record = (state: TaskRecord['state']): TaskRecord => ({
    version: 1,
    id: 'K1',
    spec: TaskSpecSchema.parse({ id: 'K1', goal: 'g' }),
    repo: '/r',
    base: 'main',
    baseCommit: 'b'.repeat(40),
    state,
    stepId: 'S1',
    stepIndex: 0,
    stepCount: 1,
    attempt: 1,
    commits: [{ stepId: 'S1', sha: 'c'.repeat(40) }],
    costUsd: 0.5,
    createdAt: 1_000,
    updatedAt: 5_000,
    finishedAt: 5_000,
  });
  const stepComplete = { type: 'task.state' as const, taskId: 'K1', at: 4_000, state: 'STEP_COMPLETE' as const, attempt: 1 };

  it('adds the final state and the finish from the record', () => {
    expect(closingEvents(record('DONE'), [stepComplete], 9_000)).toEqual([
      {
        type: 'task.state',
        taskId: 'K1',
        at: 5_000,
        state: 'DONE',
        previous: 'STEP_COMPLETE',
        stepId: 'S1',
        stepIndex: 0,
        stepCount: 1,
        attempt: 1,
        reason: undefined,
      },
      {
        type: 'task.finished',
        taskId: 'K1',
        at: 5_000,
        state: 'DONE',
        branch: undefined,
        commits: ['c'.repeat(40)],
        cost_usd: 0.5,
        duration_ms: 4_000,
        reason: undefined,
      },
    ]);
  });

  it('adds nothing to a complete log', () => {
    const done = { ...stepComplete, state: 'DONE' as const };
    const finished = { type: 'task.finished' as const, taskId: 'K1', at: 5_000, state: 'DONE' as const, commits: [], cost_usd: 0.5, duration_ms: 4_000 };
    expect(closingEvents(record('DONE'), [stepComplete, done, finished], 9_000)).toEqual([]);
  });
});
