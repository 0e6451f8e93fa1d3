import { existsSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { WorkspaceError } from '../platform/errors.js';
import { TaskIdSchema } from '../model/task-spec.js';
import { git } from './git.js';
import { listWorktrees, samePath } from './worktree-list.js';
import { removeStaleGitLocks } from './stale-git-locks.js';
import { withWorktreeLock } from './worktree-lock.js';

// The worktree API in one place for callers; each part lives in its own module.
export { excludeFromRepo, excludeStateDir } from './repo-exclude.js';
export { commitStep, stepCommits } from './step-commit.js';
import { withWorktreeChangeLock } from './step-commit.js';
export { worktreeDiff } from './worktree-diff.js';

const BRANCH_PREFIX = 'tandem/';
/** The lock reason `git worktree add` holds until the new worktree is fully checked out (git runs in the C locale). */
const GIT_ADDING = 'initializing';

export interface Worktree {
  /** Absolute path of the task's working tree. */
  readonly path: string;
  /** Short branch name, `tandem/<task-id>`. */
  readonly branch: string;
  /** Full sha the branch was created from. */
  readonly baseCommit: string;
}

function taskBranch(taskId: string): string {
  return `${BRANCH_PREFIX}${taskId}`;
}

export interface EnsureWorktreeInput {
  readonly repo: string;
  readonly taskId: string;
  /** A commit-ish (sha or branch); the worktree records the sha it resolves to. */
  readonly baseCommit: string;
  readonly worktreesDir: string;
}

/**
 * Gives a task its own worktree at `<worktreesDir>/<taskId>` on branch `tandem/<taskId>`. Idempotent so
 * a resumed task continues where it stood: an existing worktree is reused as is (uncommitted edits
 * included), and a branch whose directory was deleted gets its worktree back. The base branch and
 * the user's working tree are never touched.
 */
export async function ensureWorktree(input: EnsureWorktreeInput): Promise<Worktree> {
  const idCheck = TaskIdSchema.safeParse(input.taskId);
  if (!idCheck.success) {
    throw new WorkspaceError(`invalid task id ${JSON.stringify(input.taskId)}: ${idCheck.error.issues.map((i) => i.message).join('; ')}`);
  }
  return withWorktreeLock(input.repo, () => ensureLocked(input));
}

async function ensureLocked(input: EnsureWorktreeInput): Promise<Worktree> {
  const branch = taskBranch(input.taskId);
  const path = resolve(input.worktreesDir, input.taskId);
  const baseCommit = await resolveCommit(input.repo, input.baseCommit);

  const registered = (await listWorktrees(input.repo)).find((entry) => samePath(entry.path, path));
  if (registered?.locked === GIT_ADDING) {
    await discardUnfinished(input.repo, path);
  } else if (registered !== undefined && !registered.prunable && existsSync(path)) {
    if (registered.branch !== `refs/heads/${branch}`) {
      throw new WorkspaceError(
        `${path} is already a worktree of ${input.repo} on ${registered.branch ?? 'a detached HEAD'}, not on ${branch}; remove it with \`git worktree remove ${path}\``,
      );
    }
    await assertDescendsFrom(input.repo, branch, baseCommit);
    return { path, branch, baseCommit };
  }

  // Forget worktrees whose directories were deleted, or git refuses to check their branches out again.
  await git(input.repo, ['worktree', 'prune']);
  await assertUsableDirectory(path, input.taskId);
  await mkdir(input.worktreesDir, { recursive: true });
  // The task's branch is written only here (under the worktree lock) and by commits in its worktree,
  // which is not there: a lock on it is what a `worktree add -b` killed mid-way left.
  await removeStaleGitLocks(input.repo, [`refs/heads/${branch}.lock`]);
  if (await branchExists(input.repo, branch)) {
    await assertDescendsFrom(input.repo, branch, baseCommit);
    await git(input.repo, ['worktree', 'add', path, branch]);
  } else {
    await git(input.repo, ['worktree', 'add', '-b', branch, path, baseCommit]);
  }
  return { path, branch, baseCommit };
}

/**
 * A `git worktree add` that never finished: its process was killed (a supervisor's kill -9 while it
 * prepared the task), since every add of tandem's holds the worktree lock this caller holds now.
 * What it left is half a worktree: HEAD not yet on the branch (git lists it detached), or only part
 * of the checkout (the missing files would look deleted and be committed as such). It is removed, so
 * the caller adds it again from the branch; nothing in it was ever the task's work.
 */
async function discardUnfinished(repo: string, path: string): Promise<void> {
  await git(repo, ['worktree', 'unlock', path], { allowFailure: true });
  await rm(path, { recursive: true, force: true });
  // The caller prunes next: the entry whose directory is gone goes with it.
}

/** Discards uncommitted changes and untracked files; ignored files (node_modules, build output) stay. */
export async function resetWorktree(path: string): Promise<void> {
  await withWorktreeChangeLock(path, async () => {
    await git(path, ['reset', '--hard', '--quiet', 'HEAD']);
    await git(path, ['clean', '-fd', '--quiet']);
  });
}

export interface RemoveWorktreeInput {
  readonly repo: string;
  readonly path: string;
  /** Also delete this branch (abort); without it the branch stays for the user to merge. */
  readonly branch?: string | undefined;
}

/**
 * Deletes a task's worktree (even with uncommitted changes) and, when given, its branch. Idempotent:
 * whatever is already gone is skipped. Only `tandem/` branches are deleted, so a wrong argument can
 * never cost the user one of their own branches.
 */
export async function removeWorktree(input: RemoveWorktreeInput): Promise<void> {
  if (input.branch !== undefined && !input.branch.startsWith(BRANCH_PREFIX)) {
    throw new WorkspaceError(`refusing to delete branch ${input.branch}: tandem only deletes its own ${BRANCH_PREFIX}* branches`);
  }
  await withWorktreeLock(input.repo, () => removeLocked(input));
}

async function removeLocked(input: RemoveWorktreeInput): Promise<void> {
  const registered = (await listWorktrees(input.repo)).find((entry) => samePath(entry.path, input.path));
  if (registered !== undefined && existsSync(registered.path)) {
    await git(input.repo, ['worktree', 'remove', '--force', registered.path]);
  }
  await git(input.repo, ['worktree', 'prune']);
  if (input.branch !== undefined && (await branchExists(input.repo, input.branch))) {
    await git(input.repo, ['branch', '--quiet', '-D', input.branch]);
  }
}

async function branchExists(repo: string, branch: string): Promise<boolean> {
  const result = await git(repo, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`], { allowFailure: true });
  return result.exitCode === 0;
}

async function resolveCommit(repo: string, commitish: string): Promise<string> {
  const result = await git(repo, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${commitish}^{commit}`], { allowFailure: true });
  if (result.exitCode !== 0) throw new WorkspaceError(`base commit ${JSON.stringify(commitish)} not found in ${repo}`);
  return result.stdout.trim();
}

async function assertDescendsFrom(repo: string, branch: string, baseCommit: string): Promise<void> {
  const result = await git(repo, ['merge-base', '--is-ancestor', baseCommit, `refs/heads/${branch}`], { allowFailure: true });
  if (result.exitCode !== 0) {
    throw new WorkspaceError(
      `branch ${branch} in ${repo} does not contain the task's base commit ${baseCommit}; it belongs to another run of this task id. Delete it (\`git branch -D ${branch}\`) or use another task id`,
    );
  }
}

/** `git worktree add` accepts a missing or empty directory only; say why in tandem's words. */
async function assertUsableDirectory(path: string, taskId: string): Promise<void> {
  const entries = await readdir(path).catch(() => undefined);
  if (entries !== undefined && entries.length > 0) {
    throw new WorkspaceError(`${path} exists, is not empty and is not the worktree of task ${taskId}; move it away or remove it`);
  }
}
