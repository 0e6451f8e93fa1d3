import type { ClaimedFile } from './claim-file.js';

/**
 * The bookkeeping a task watcher's parts share (the claim processor, the report writer and the
 * poll loop). One instance per watcher; it lives here so each part can be a small module instead
 * of one closure that holds everything.
 */

/** Where a reported task came from, and the claimed file it belongs to (none for adopted tasks). */
interface Tracked {
  readonly source: string;
  readonly claim?: ClaimedFile | undefined;
}

/** A claim whose processing failed for an internal reason, until it is retried or given up. */
interface RetryingClaim {
  readonly claim: ClaimedFile;
  readonly tries: number;
  readonly nextAt: number;
  readonly error: string;
}

export interface WatchState {
  readonly tracked: Map<string, Tracked>;
  /** Claims and the ids of their tasks, until every task is finished and the file moves to processed/. */
  readonly claimIds: Map<string, { claim: ClaimedFile; ids: readonly string[] }>;
  /** Tracked tasks that do not rest yet, or rest without their report written. */
  readonly open: Set<string>;
  /** Ids being submitted by a worker right now, so two files with one id cannot both pass the check. */
  readonly reserved: Set<string>;
  /** Files (by inbox name) and claims (by claim path) being processed right now. */
  readonly inFlight: Map<string, Promise<void>>;
  /** Background work `idle()` and `stop()` wait for. */
  readonly pending: Set<Promise<unknown>>;
  /** Claims whose processing failed for an internal reason, by claim path. */
  readonly retrying: Map<string, RetryingClaim>;
  /** Counters reported by `stats()`. */
  readonly counts: { claimed: number; rejected: number; failed: number };
}

export function createWatchState(): WatchState {
  return {
    tracked: new Map(),
    claimIds: new Map(),
    open: new Set(),
    reserved: new Set(),
    inFlight: new Map(),
    pending: new Set(),
    retrying: new Map(),
    counts: { claimed: 0, rejected: 0, failed: 0 },
  };
}

/** Keeps `promise` in `pending` until it settles, so idle() and stop() know work is still going on. */
export function track<T>(state: WatchState, promise: Promise<T>): Promise<T> {
  state.pending.add(promise);
  void promise.finally(() => state.pending.delete(promise)).catch(() => undefined);
  return promise;
}

/** Reports a task in the watched folder from now on; it counts as open until its report is written. */
export function trackTask(state: WatchState, taskId: string, entry: Tracked): void {
  state.tracked.set(taskId, entry);
  state.open.add(taskId);
}
