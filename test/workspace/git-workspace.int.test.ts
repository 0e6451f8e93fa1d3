import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGitWorkspace } from '../../src/workspace/git-workspace.js';
import { createGitRepo, type GitRepo } from '../helpers/git-repo.js';

let repo: GitRepo;
beforeEach(async () => {
  repo = await createGitRepo({ 'a.txt': 'a\n' });
});
afterEach(async () => {
  await repo.cleanup();
});

describe('createGitWorkspace', () => {
  it('drives a task through ensure, diff, commit (once), reset and remove', async () => {
    // Outside the repository this time: the usual layout for a user-chosen state dir.
    const worktreesDir = await realpath(await mkdtemp(join(tmpdir(), 'tandem-worktrees-')));
    const workspace = createGitWorkspace({ worktreesDir });
    try {
      const wt = await workspace.ensure({ repo: repo.dir, taskId: 't1', baseCommit: 'main' });
      expect(wt).toEqual({ path: join(worktreesDir, 't1'), branch: 'tandem/t1' });

      await writeFile(join(wt.path, 'b.txt'), 'b\n');
      const diff = await workspace.diff(wt.path);
      expect(diff.files).toEqual([{ path: 'b.txt', status: 'added', insertions: 1, deletions: 0 }]);

      const input = { taskId: 't1', stepId: 'S1', attempt: 1, message: 'Add b', trailers: { 'Tandem-Gate': '1/1 checks passed' } };
      const first = await workspace.commit(wt.path, input);
      // A restarted supervisor: a fresh adapter re-ensures the worktree, then re-runs the commit.
      const restarted = createGitWorkspace({ worktreesDir });
      await restarted.ensure({ repo: repo.dir, taskId: 't1', baseCommit: repo.head });
      expect(await restarted.commit(wt.path, input)).toEqual({ sha: first.sha, created: false });
      // Restarted at STEP_COMPLETE, the adapter never saw an ensure: the step is still found, from
      // the base given with the call, and from the branch's own history without it.
      expect(await createGitWorkspace({ worktreesDir }).commit(wt.path, { ...input, baseCommit: repo.head })).toEqual({ sha: first.sha, created: false });
      expect(await createGitWorkspace({ worktreesDir }).commit(wt.path, input)).toEqual({ sha: first.sha, created: false });

      await writeFile(join(wt.path, 'c.txt'), 'c\n');
      await restarted.reset(wt.path);
      expect((await restarted.diff(wt.path)).files).toEqual([]);

      await restarted.remove({ repo: repo.dir, path: wt.path, branch: wt.branch });
      expect(await repo.git('for-each-ref', '--format=%(refname)', 'refs/heads/tandem/')).toBe('');
      expect(await repo.git('rev-parse', 'main')).toBe(repo.head);
    } finally {
      await repo.git('worktree', 'prune');
      await rm(worktreesDir, { recursive: true, force: true });
    }
  });
});
