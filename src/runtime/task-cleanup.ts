import type { Logger } from '../telemetry/logger.js';
import type { Workspace } from '../workspace/workspace.js';
import type { TaskRecord } from '../model/task-record.js';
import type { TaskOwnership } from './task-outcome.js';

/**
 * What a driver leaves behind when its task rests: the claim goes back (unless the task moved to
 * another supervisor), and a finished task's worktree goes away. Failures here are logged, never
 * thrown: the task's outcome is already decided and stored.
 */
export async function releaseTask(taskId: string, options: { ownership?: TaskOwnership | undefined; abandoned: boolean; logger: Logger }): Promise<void> {
  // A driver that lost its claim must not release it: a new driver (here or elsewhere) holds it now.
  if (options.abandoned || !options.ownership) return;
  await options.ownership.release(taskId).catch((error: unknown) => options.logger.warn({ err: error, task: taskId }, 'could not release the task'));
}

export async function removeWorktree(record: TaskRecord, workspace: Workspace, logger: Logger): Promise<void> {
  if (record.state === 'ABORTED' && record.worktreePath && record.branch) {
    await workspace.remove({ repo: record.repo, path: record.worktreePath, branch: record.branch }).catch((error: unknown) => {
      logger.warn({ err: error, task: record.id }, 'could not remove the worktree of an aborted task');
    });
  }
  if (record.state === 'DONE' && record.worktreePath) {
    // The branch keeps the work; the worktree is only scratch space.
    await workspace.remove({ repo: record.repo, path: record.worktreePath }).catch((error: unknown) => {
      logger.warn({ err: error, task: record.id }, 'could not remove the worktree of a finished task');
    });
  }
}
