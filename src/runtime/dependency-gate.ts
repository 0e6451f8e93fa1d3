import type { Bus } from '../bus/bus.js';
import { taskKey, type TaskRecord } from '../model/task-record.js';
import type { Clock } from '../platform/clock.js';
import type { Store } from '../store/store.js';
import type { Logger } from '../telemetry/logger.js';
import type { TaskDriver } from './task-driver.js';
import { waitForDependencies } from './wait-dependencies.js';

/** How often a task waiting for its dependencies re-reads their state, besides their events. */
const DEPENDENCY_POLL_MS = 5_000;

interface DependencyGateDeps {
  readonly bus: Bus;
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly read: (taskId: string) => Promise<TaskRecord | undefined>;
  readonly driver: (taskId: string) => TaskDriver | undefined;
}

type Start = { readonly record: TaskRecord; readonly revision: number };

/**
 * Holds back tasks whose `depends_on` are not DONE yet (seed 002 phase 4), outside the scheduler so a
 * waiting task takes no slot. A task blocked by a dependency that failed, was aborted or waits for a
 * person settles its outcome unstarted, with the reason; its own dependents are blocked behind it.
 */
export function createDependencyGate(deps: DependencyGateDeps) {
  const { logger } = deps;
  const waiting = new Map<string, AbortController>();
  const blocked = new Map<string, string>();

  /**
   * A task builds on its dependency's work: with one DONE dependency on the same repository that
   * committed, the task's base becomes that dependency's last commit. Several such dependencies are not
   * merged; the task then keeps its own base, and the log says so.
   */
  async function buildOnDependencies(start: Start): Promise<void> {
    const { record } = start;
    const withWork: { id: string; branch: string; sha: string }[] = [];
    for (const dep of record.spec.depends_on) {
      const found = await deps.read(dep);
      const last = found?.commits.at(-1);
      if (found?.branch && last && found.repo === record.repo) withWork.push({ id: dep, branch: found.branch, sha: last.sha });
    }
    const only = withWork.length === 1 ? withWork[0] : undefined;
    if (!only) {
      if (withWork.length > 1)
        logger.warn(
          { task: record.id },
          `task ${record.id} depends on ${withWork.map((w) => w.id).join(', ')}, whose branches are not merged: it starts from ${record.base}`,
        );
      return;
    }
    const next: TaskRecord = { ...record, base: only.branch, baseCommit: only.sha, updatedAt: deps.clock.now() };
    const revision = await deps.store.put(taskKey(record.id), next, { expectedRevision: start.revision });
    deps.driver(record.id)?.startFrom({ record: next, revision });
    logger.info({ task: record.id, base: only.branch, sha: only.sha }, `task ${record.id} starts from ${only.id}'s work (${only.branch})`);
  }

  return {
    /** Waits for the task's dependencies; false when it must not start now (its outcome is settled then). */
    async wait(start: Start): Promise<boolean> {
      const { id, spec } = start.record;
      const stopper = new AbortController();
      waiting.set(id, stopper);
      try {
        const check = await waitForDependencies(spec.depends_on, {
          bus: deps.bus,
          clock: deps.clock,
          signal: stopper.signal,
          pollMs: DEPENDENCY_POLL_MS,
          state: async (dep) => (await deps.read(dep))?.state,
          blockedReason: (dep) => blocked.get(dep),
        });
        if (check.ready) {
          blocked.delete(id);
          await buildOnDependencies(start);
          return true;
        }
        if ('reason' in check) {
          blocked.set(id, check.reason);
          logger.warn({ task: id, blocked_by: check.blockedBy }, `task ${id} ${check.reason}`);
          deps.driver(id)?.settleUnstarted({ reason: check.reason, blockedBy: check.blockedBy });
        } else deps.driver(id)?.settleUnstarted();
        return false;
      } finally {
        waiting.delete(id);
      }
    },
    /** A task stopped while it waits settles unstarted (still NEW, to be resumed). */
    stop(taskId: string): void {
      waiting.get(taskId)?.abort();
    },
    stopAll(): void {
      for (const stopper of waiting.values()) stopper.abort();
    },
  };
}
