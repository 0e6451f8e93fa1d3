import type { ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { isProcessGroupAlive, killProcessGroup } from './process-group.js';

const GROUP_POLL_MS = 20;

export interface GroupGuardOptions {
  /** The child's pid: it was spawned `detached`, so this is also its process group id. */
  readonly pid: number;
  readonly timeoutMs: number;
  /** Time between SIGTERM and SIGKILL. */
  readonly killGraceMs: number;
  readonly signal?: AbortSignal | undefined;
  readonly onTimeout: () => void;
  readonly onAbort: () => void;
}

export interface GroupGuard {
  /** SIGTERM to the whole group now (once), SIGKILL after the grace; false once the leader exited. */
  terminate(): boolean;
  /** After the leader's pipes closed: waits (bounded) for the rest of a group that had to be killed. */
  settled(): Promise<void>;
  /** Clears every timer and the abort listener. */
  dispose(): void;
}

/**
 * The discipline every process tandem starts is held to: a wall-clock limit and an AbortSignal
 * that end the whole process group (grandchildren included), helpers the leader left running are
 * ended when it exits, and a descendant that escaped the group cannot hold the pipes open forever.
 */
export function guardProcessGroup(child: ChildProcess, options: GroupGuardOptions): GroupGuard {
  const { pid, killGraceMs } = options;
  let exited = false;
  let killTimer: NodeJS.Timeout | undefined;
  let detachTimer: NodeJS.Timeout | undefined;
  const signalGroup = (signal: NodeJS.Signals): void => {
    try {
      killProcessGroup(pid, signal);
    } catch {
      // EPERM: the group is gone and its id now belongs to someone else; nothing of ours to end.
    }
  };
  const terminateGroup = (): void => {
    if (killTimer !== undefined) return;
    signalGroup('SIGTERM');
    killTimer = setTimeout(() => signalGroup('SIGKILL'), killGraceMs);
  };
  const timer = setTimeout(options.onTimeout, options.timeoutMs);
  const onAbort = (): void => options.onAbort();
  child.once('exit', () => {
    exited = true;
    clearTimeout(timer);
    // Background processes the leader left behind would outlive it (and may hold the pipes open).
    if (isProcessGroupAlive(pid)) terminateGroup();
    // A descendant that left the group (setsid) cannot be killed by us; stop waiting for it to close
    // the pipes once the group itself must be gone.
    detachTimer = setTimeout(() => {
      child.stdout?.destroy();
      child.stderr?.destroy();
    }, killGraceMs + 2_000);
  });
  options.signal?.addEventListener('abort', onAbort, { once: true });
  // The signal may have fired while the process was being spawned; the caller's guard exists by then.
  if (options.signal?.aborted) queueMicrotask(onAbort);

  return {
    terminate() {
      if (exited) return false;
      terminateGroup();
      return true;
    },
    async settled() {
      if (killTimer === undefined) return;
      const deadline = performance.now() + killGraceMs + 2_000;
      while (isProcessGroupAlive(pid) && performance.now() < deadline) await sleep(GROUP_POLL_MS);
    },
    dispose() {
      clearTimeout(timer);
      clearTimeout(killTimer);
      clearTimeout(detachTimer);
      options.signal?.removeEventListener('abort', onAbort);
    },
  };
}
