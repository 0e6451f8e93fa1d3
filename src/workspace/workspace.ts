/**
 * The Workspace port: what the supervisor needs from git. One worktree and branch per task; the
 * base branch and the user's working tree are never touched.
 */
/** What the planner sees of a repository: tracked files, status, and the task's context files. */
export interface RepoSnapshot {
  readonly files: readonly string[];
  readonly status: string;
  readonly contextFiles: readonly { readonly path: string; readonly content: string }[];
}

interface WorktreeRef {
  readonly path: string;
  readonly branch: string;
}

interface DiffStat {
  readonly patch: string;
  readonly files: readonly { readonly path: string; readonly status: string; readonly insertions: number; readonly deletions: number }[];
  readonly insertions: number;
  readonly deletions: number;
  readonly fingerprint: string;
}

export interface Workspace {
  /** Creates the task's worktree, or reuses it when it exists (a resumed task). */
  ensure(input: { repo: string; taskId: string; baseCommit: string }): Promise<WorktreeRef>;
  /** What the planner sees: tracked files, status, and the task's context files (bounded). */
  snapshot(path: string, contextFiles: readonly string[], signal?: AbortSignal): Promise<RepoSnapshot>;
  /** Discards uncommitted changes: every attempt starts from the last accepted step. */
  reset(path: string): Promise<void>;
  /** Uncommitted changes against HEAD; with `base`, everything the branch changed since that commit. */
  diff(path: string, base?: string): Promise<DiffStat>;
  /** Idempotent: a step's attempt already committed (found by its trailers) is returned, not committed again; no change, no commit (no sha). */
  commit(
    path: string,
    input: { taskId: string; stepId: string; attempt: number; message: string; trailers: Readonly<Record<string, string>>; baseCommit?: string | undefined },
  ): Promise<{ sha: string | undefined; created: boolean }>;
  /** Removes the worktree; also deletes the branch when `branch` is given (abort). Idempotent. */
  remove(input: { repo: string; path: string; branch?: string | undefined }): Promise<void>;
}
