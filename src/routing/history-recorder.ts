import type { Bus, Subscription } from '../bus/bus.js';
import type { TaskEvent } from '../model/task-events.js';
import { subject } from '../bus/subjects.js';
import type { Area, Risk } from '../model/task-spec.js';
import type { HistoryStore, StepOutcome } from './history-store.js';
import { fromNanos, toNanos } from './model-registry.js';

/**
 * Step outcomes are derived from the lifecycle events, like the metrics, so every process that
 * sees the events learns the same way. A planner's round succeeds when its plan is approved
 * without revision; an implementer's step succeeds when the gate passes on the first attempt.
 * Outcomes whose end a restart hid are not recorded: a guess would teach the router wrong.
 */

interface Open {
  readonly taskId: string;
  readonly stepId?: string | undefined;
  readonly role: 'planner' | 'implementer';
  readonly modelName: string;
  readonly area: Area;
  readonly risk: Risk;
  readonly stepType: string;
  readonly startedAt: number;
  costNanos: number;
  attempts: number;
  /** Set once the work cannot count as a first-time success any more. */
  failed: boolean;
}

export function bindHistory(bus: Bus, history: HistoryStore, options: { onError?: (error: unknown) => void } = {}): Subscription {
  const open = new Map<string, Open>();
  const keyOf = (taskId: string, stepId: string | undefined): string => `${taskId}/${stepId ?? ''}`;

  const finish = (key: string, entry: Open, success: boolean, at: number): void => {
    open.delete(key);
    const outcome: Omit<StepOutcome, 'version' | 'id'> = {
      at,
      task_id: entry.taskId,
      ...(entry.stepId === undefined ? {} : { step_id: entry.stepId }),
      role: entry.role,
      model_name: entry.modelName,
      area: entry.area,
      risk: entry.risk,
      step_type: entry.stepType,
      success,
      attempts: Math.max(1, entry.attempts),
      cost_usd: fromNanos(entry.costNanos),
      duration_ms: Math.max(0, at - entry.startedAt),
    };
    history.record(outcome).catch((error: unknown) => options.onError?.(error));
  };

  const onEvent = (event: TaskEvent): void => {
    switch (event.type) {
      case 'role.started': {
        if (event.role !== 'planner' && event.role !== 'implementer') return;
        const key = keyOf(event.taskId, event.role === 'planner' ? undefined : event.stepId);
        const current = open.get(key);
        if (current) {
          current.attempts = Math.max(current.attempts, event.attempt);
          return;
        }
        // Only work that started on its first try counts: a resumed or retried step is not a clean sample.
        const first = event.role === 'implementer' ? event.attempt === 1 : true;
        // Simulated answers (a script replayed) say nothing about the model whose name they carry.
        if (!event.routing?.model_name || !first || event.simulated === true) return;
        open.set(key, {
          taskId: event.taskId,
          stepId: event.role === 'planner' ? undefined : event.stepId,
          role: event.role,
          modelName: event.routing.model_name,
          area: event.routing.task_area,
          risk: event.routing.task_risk,
          stepType: event.routing.step_type,
          startedAt: event.at,
          costNanos: 0,
          attempts: event.attempt,
          failed: false,
        });
        return;
      }
      case 'role.finished': {
        if (event.role === 'planner' || event.role === 'implementer') {
          const entry = open.get(keyOf(event.taskId, event.role === 'planner' ? undefined : event.stepId));
          if (!entry) return;
          entry.costNanos += toNanos(event.cost_usd);
          if (!event.success) entry.failed = true;
          return;
        }
        if (event.role === 'plan-reviewer' && event.success) {
          const key = keyOf(event.taskId, undefined);
          const entry = open.get(key);
          if (entry) finish(key, entry, !entry.failed && event.verdict === 'approved', event.at);
          return;
        }
        if (event.role === 'code-reviewer' && event.success && event.verdict !== 'approved') {
          const entry = open.get(keyOf(event.taskId, event.stepId));
          if (entry) entry.failed = true;
        }
        return;
      }
      case 'gate.finished': {
        const key = keyOf(event.taskId, event.stepId);
        const entry = open.get(key);
        if (!entry) return;
        entry.attempts = Math.max(entry.attempts, event.attempt);
        if (event.passed) finish(key, entry, !entry.failed && event.attempt === 1, event.at);
        else entry.failed = true;
        return;
      }
      case 'task.state': {
        if (event.state !== 'AWAITING_HUMAN_REVIEW' && event.state !== 'FAILED' && event.state !== 'ABORTED' && event.state !== 'DONE') return;
        // Work that had already failed is a known failure; anything else stopped for reasons that are not the model's.
        for (const [key, entry] of [...open]) {
          if (entry.taskId !== event.taskId) continue;
          if (entry.failed) finish(key, entry, false, event.at);
          else open.delete(key);
        }
        return;
      }
      default:
        return;
    }
  };

  return bus.subscribe(subject({ kind: 'events.all' }), (message) => {
    if ('taskId' in message && (message.type.startsWith('role.') || message.type.startsWith('gate.') || message.type === 'task.state'))
      onEvent(message as TaskEvent);
  });
}
