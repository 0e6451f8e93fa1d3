import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, realpath, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../src/store/memory-store.js';
import { createGitWorkspace } from '../../src/workspace/git-workspace.js';
import { createWorkspaceSweep } from '../../src/distributed/workspace-sweep.js';
import { TaskRecordSchema } from '../../src/model/task-record.js';
import { TaskSpecSchema } from '../../src/model/task-spec.js';
import { systemClock } from '../../src/platform/clock.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { createGitRepo, type GitRepo } from '../helpers/git-repo.js';

const run = promisify(execFile);
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function branches(repo: string): Promise<string[]> {
  return (await run('git', ['branch', '--format=%(refname:short)'], { cwd: repo })).stdout.trim().split('\n').sort();
}
async function worktrees(repo: string): Promise<number> {
  return (await run('git', ['worktree', 'list', '--porcelain'], { cwd: repo })).stdout.split('\n').filter((l) => l.startsWith('worktree ')).length;
}

describe('workspace sweep', () => {
  it("removes the worktrees of DONE (keeping the branch) and ABORTED (with the branch) tasks, leaves running ones, and removes dead gate runs' base trees", async () => {
    const repo: GitRepo = await createGitRepo({ 'README.md': '# r\n' });
    const state = await realpath(await mkdtemp(join(tmpdir(), 'tandem-sweep-')));
    cleanups.push(
      () => repo.cleanup(),
      () => rm(state, { recursive: true, force: true }),
    );
    const worktreesDir = join(state, 'worktrees');
    const workspace = createGitWorkspace({ worktreesDir });
    const store = createMemoryStore();
    const base = (await run('git', ['rev-parse', 'HEAD'], { cwd: repo.dir })).stdout.trim();
    const states = { D1: 'DONE', A1: 'ABORTED', R1: 'IMPLEMENTING' } as const;
    for (const [id, state] of Object.entries(states)) {
      const tree = await workspace.ensure({ repo: repo.dir, taskId: id, baseCommit: base });
      const now = Date.now();
      await store.put(`tasks.${id}`, {
        version: 1,
        id,
        spec: TaskSpecSchema.parse({ id, goal: 'g' }),
        attempt: 0,
        costUsd: 0,
        repo: repo.dir,
        base: 'main',
        baseCommit: base,
        state,
        worktreePath: tree.path,
        createdAt: now,
        updatedAt: now,
        commits: [],
      });
    }
    // Recreate the crash: a base tree git knows about, old, whose process is gone.
    await run('git', ['worktree', 'add', '--detach', '--quiet', join(worktreesDir, '.tandem-base-dead', 'tree'), base], { cwd: repo.dir });
    const old = new Date(Date.now() - 3_600_000);
    await utimes(join(worktreesDir, '.tandem-base-dead'), old, old);
    await run('git', ['worktree', 'add', '--detach', '--quiet', join(worktreesDir, '.tandem-base-live', 'tree'), base], { cwd: repo.dir });
    expect(await worktrees(repo.dir)).toBe(6);

    for (const id of Object.keys(states)) expect(TaskRecordSchema.safeParse((await store.get(`tasks.${id}`))?.value).success, id).toBe(true);

    const sweep = createWorkspaceSweep({ store, workspace, worktreesDir, clock: systemClock, logger: silentLogger(), baseTreeMaxAgeMs: 60_000 });
    const result = await sweep.sweep();
    expect(result).toEqual({ tasks: ['A1', 'D1'], baseTrees: ['.tandem-base-dead'] });
    expect(existsSync(join(worktreesDir, 'D1'))).toBe(false);
    expect(existsSync(join(worktreesDir, 'A1'))).toBe(false);
    expect(existsSync(join(worktreesDir, 'R1'))).toBe(true);
    expect(existsSync(join(worktreesDir, '.tandem-base-dead'))).toBe(false);
    expect(existsSync(join(worktreesDir, '.tandem-base-live'))).toBe(true);
    expect(await branches(repo.dir)).toEqual(['main', 'tandem/D1', 'tandem/R1']);
    // main, R1 and the live base tree are left; the dead one's entry is pruned.
    expect(await worktrees(repo.dir)).toBe(3);
    // Once per process: a second sweep has nothing to do.
    expect(await sweep.sweep()).toEqual({ tasks: [], baseTrees: [] });
  });
});
