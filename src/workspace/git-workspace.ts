import type { Workspace } from './workspace.js';
import { commitStep } from './step-commit.js';
import { ensureWorktree, excludeStateDir, removeWorktree, resetWorktree } from './worktree.js';
import { worktreeDiff } from './worktree-diff.js';
import { repoSnapshot } from './repo-snapshot.js';

export interface GitWorkspaceOptions {
  /** Where task worktrees live, e.g. `<state_dir>/worktrees`. */
  readonly worktreesDir: string;
  /** tandem's state dir: kept out of each task repository's `git status` (`info/exclude`) when inside it. */
  readonly stateDir?: string | undefined;
}

/**
 * The Workspace port on real git worktrees. It remembers each worktree's base commit from `ensure`
 * (which a resumed task calls again after a restart), so that the idempotent commit only looks at
 * commits made since that base.
 */
export function createGitWorkspace(options: GitWorkspaceOptions): Workspace {
  const baseByPath = new Map<string, string>();
  return {
    async ensure({ repo, taskId, baseCommit }) {
      await excludeStateDir(repo, options.stateDir);
      const worktree = await ensureWorktree({ repo, taskId, baseCommit, worktreesDir: options.worktreesDir });
      baseByPath.set(worktree.path, worktree.baseCommit);
      return { path: worktree.path, branch: worktree.branch };
    },
    snapshot: (path, contextFiles, signal) => repoSnapshot(path, contextFiles, signal),
    reset: (path) => resetWorktree(path),
    diff: (path, base) => worktreeDiff(path, base),
    commit(path, input) {
      // The task's base comes with the call; after a restart nothing else may know it.
      const baseCommit = input.baseCommit ?? baseByPath.get(path);
      return commitStep(path, { ...input, ...(baseCommit === undefined ? {} : { baseCommit }) });
    },
    async remove(input) {
      await removeWorktree(input);
      baseByPath.delete(input.path);
    },
  };
}
