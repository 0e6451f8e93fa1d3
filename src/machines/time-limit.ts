import type { Actor } from 'xstate';
import type { SupervisorMachine } from './supervisor.js';

/**
 * The task's time limit is the chart's delayed transition `running.after.timeLimit`. XState does
 * not persist scheduled events with a snapshot (their source and target are live actors), so a
 * supervisor restored inside `running` schedules that same event again, for the time that is left.
 * The event type and id are XState's own for that `after` (`xstate.after.<delay>.<state id>`), so
 * leaving `running` cancels it like the original.
 */
export const TIME_LIMIT_EVENT = 'xstate.after.timeLimit.supervisor.running';

/** Call once after `actor.start()` on a restored snapshot. */
export function rearmTimeLimit(actor: Actor<SupervisorMachine>, delayMs: number): void {
  if (!actor.getSnapshot().matches('running')) return;
  actor.system.scheduler.schedule(actor, actor, { type: TIME_LIMIT_EVENT }, Math.max(0, delayMs), TIME_LIMIT_EVENT);
}
