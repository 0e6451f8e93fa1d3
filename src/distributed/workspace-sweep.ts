import { existsSync } from 'node:fs';
import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { TaskRecordSchema, TASKS_PREFIX } from '../model/task-record.js';
import type { Clock } from '../platform/clock.js';
import { errorMessage } from '../platform/errors.js';
import type { Store } from '../store/store.js';
import type { Logger } from '../telemetry/logger.js';
import { git } from '../workspace/git.js';
import type { Workspace } from '../workspace/workspace.js';

/** The prefix of the gate's temporary base worktrees (src/gate/base-worktree.ts). */
const BASE_TREE_PREFIX = '.tandem-base-';

export interface WorkspaceSweepOptions {
  readonly store: Store;
  readonly workspace: Workspace;
  /** Where task worktrees and the gate's base trees live (`<state_dir>/worktrees`). */
  readonly worktreesDir: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /**
   * A base tree older than this belongs to a gate run that died (no gate call lives this long: use
   * the role timeout); younger ones may be in use by a gate service elsewhere.
   */
  readonly baseTreeMaxAgeMs: number;
}

export interface SweepResult {
  /** Task ids whose worktree (and, aborted, branch) was removed. */
  readonly tasks: string[];
  /** Base trees removed. */
  readonly baseTrees: string[];
}

/**
 * Cleanup that survives crashes: what a process killed before its own cleanup left behind. A DONE
 * task loses its worktree but keeps its branch (the work to merge); an ABORTED task loses both; a
 * base tree of a gate run that died is removed and its repository's worktree list pruned. Each
 * finished task is looked at once per process.
 */
export function createWorkspaceSweep(options: WorkspaceSweepOptions): { sweep(): Promise<SweepResult> } {
  const { store, workspace, worktreesDir, clock, logger } = options;
  const swept = new Set<string>();

  async function sweepTasks(): Promise<string[]> {
    const removed: string[] = [];
    for (const entry of await store.list(TASKS_PREFIX)) {
      const parsed = TaskRecordSchema.safeParse(entry.value);
      if (!parsed.success) continue;
      const record = parsed.data;
      if ((record.state !== 'DONE' && record.state !== 'ABORTED') || swept.has(record.id)) continue;
      const path = record.worktreePath ?? join(worktreesDir, record.id);
      const aborted = record.state === 'ABORTED';
      try {
        if (aborted || existsSync(path)) {
          await workspace.remove({ repo: record.repo, path, ...(aborted ? { branch: `tandem/${record.id}` } : {}) });
          removed.push(record.id);
        }
        swept.add(record.id);
      } catch (error) {
        logger.warn({ task: record.id, err: error }, `could not clean up the worktree of ${record.state} task ${record.id}: ${errorMessage(error)}`);
      }
    }
    return removed;
  }

  async function sweepBaseTrees(): Promise<string[]> {
    const removed: string[] = [];
    const names = await readdir(worktreesDir).catch(() => [] as string[]);
    for (const name of names.filter((n) => n.startsWith(BASE_TREE_PREFIX))) {
      const parent = join(worktreesDir, name);
      const info = await stat(parent).catch(() => undefined);
      if (info === undefined || clock.now() - info.mtimeMs < options.baseTreeMaxAgeMs) continue;
      // `tree/.git` names the repository's worktree entry: prune it once the folder is gone.
      const link = await readFile(join(parent, 'tree', '.git'), 'utf8').catch(() => '');
      const gitDir = /^gitdir: (.+)$/m.exec(link)?.[1]?.trim();
      await rm(parent, { recursive: true, force: true });
      if (gitDir !== undefined) await git(dirname(dirname(gitDir)), ['worktree', 'prune'], { allowFailure: true }).catch(() => undefined);
      removed.push(name);
    }
    return removed;
  }

  return {
    async sweep() {
      const tasks = await sweepTasks();
      const baseTrees = await sweepBaseTrees();
      if (tasks.length + baseTrees.length > 0) {
        logger.info({ tasks, baseTrees }, `cleaned up ${tasks.length} finished tasks' worktrees and ${baseTrees.length} base trees left by dead gate runs`);
      }
      return { tasks, baseTrees };
    },
  };
}
