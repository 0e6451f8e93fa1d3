import type { Bus, Subscription } from '../bus/bus.js';
import { terminalStates, type TaskEvent, type TaskState } from '../model/task-events.js';
import { subject } from '../bus/subjects.js';
import { isTaskEvent, stageStatus } from './lifecycle-events.js';
import type { taskOutcomes } from './metrics.js';
import { type Metrics } from './metrics.js';
import type { TaskFactsLookup } from './task-facts.js';

/** Seed 002's pipeline stages: `orchestrator_steps_total{type="plan|implement|review|quality_gate"}`. */
const stageOf = { planner: 'plan', 'plan-reviewer': 'review', implementer: 'implement', 'code-reviewer': 'review', validator: 'review' } as const;

/** The call label sets whose series already exist, per registry (several bindings may share one). */
const initializedCalls = new WeakMap<Metrics, Set<string>>();

/**
 * A model call's series start at 0 when the call starts, so that Prometheus (which cannot see the
 * jump of a series born at 1) counts the first call of a model once the call outlasts a scrape.
 * Only the first time: prom-client's `Histogram.zero()` resets a series that already has data, so
 * zeroing on every `role.started` wiped the latency of all earlier calls.
 */
function initializeCallSeries(metrics: Metrics, call: { provider: string; model: string; role: string }, task: TaskLabels): void {
  const seen = initializedCalls.get(metrics) ?? new Set<string>();
  initializedCalls.set(metrics, seen);
  const key = JSON.stringify([call.provider, call.model, call.role, task.task_risk, task.task_area]);
  if (seen.has(key)) return;
  seen.add(key);
  const model = { provider: call.provider, model: call.model };
  metrics.llmCalls.inc({ ...model, role: call.role }, 0);
  for (const status of ['passed', 'retry', 'failed']) metrics.llmResults.inc({ ...model, role: call.role, status, error_kind: 'none' }, 0);
  metrics.llmLatency.zero({ ...model, role: call.role });
  metrics.llmTokens.inc({ ...model, ...task, direction: 'input' }, 0);
  metrics.llmTokens.inc({ ...model, ...task, direction: 'output' }, 0);
  metrics.llmCost.inc({ ...model, ...task }, 0);
  metrics.llmCostEstimated.inc({ ...model, ...task }, 0);
}

interface TaskLabels {
  readonly task_risk: string;
  readonly task_area: string;
}

/** Seed 002's `orchestrator_tasks_total{status="success|fail|human_required"}`, as its own counter. */
const outcomeOf: Partial<Record<TaskState, (typeof taskOutcomes)[number]>> = {
  DONE: 'success',
  FAILED: 'fail',
  ABORTED: 'fail',
  AWAITING_HUMAN_REVIEW: 'human_required',
};

export interface BindMetricsOptions {
  /**
   * Where `orchestrator_model_routing` finds the task's risk and area when a `role.started` has no
   * routing information (a runner pinned for every role). Without either the labels read "unknown".
   */
  readonly facts?: TaskFactsLookup;
  /**
   * Which events this process counts. Several supervisors on one NATS bus all see every event;
   * each should count only the tasks it drives, or the dashboards' sums count them N times.
   */
  readonly filter?: (event: TaskEvent) => boolean;
}

/**
 * Metrics are derived from lifecycle events rather than updated inside the runtime, so every
 * process that sees the events (embedded runtime, supervisor service, a dashboard exporter)
 * counts the same way.
 */
export function bindMetrics(bus: Bus, metrics: Metrics, options: BindMetricsOptions = {}): Subscription {
  const stateOf = new Map<string, { state: TaskState; since: number }>();
  /** The risk and area a task's calls were routed with, for the cost and token labels of its results. */
  const labelsOf = new Map<string, TaskLabels>();
  const taskLabels = async (taskId: string): Promise<TaskLabels> => {
    const known = labelsOf.get(taskId);
    if (known) return known;
    const facts = options.facts ? await options.facts(taskId).catch(() => undefined) : undefined;
    return { task_risk: facts?.risk ?? 'unknown', task_area: facts?.area ?? 'unknown' };
  };

  const onState = (message: Extract<TaskEvent, { type: 'task.state' }>): void => {
    const previous = stateOf.get(message.taskId);
    if (previous) {
      metrics.tasksInState.dec({ state: previous.state });
      if (previous.state !== message.state) metrics.stateDuration.observe({ state: previous.state }, Math.max(0, message.at - previous.since) / 1000);
    }
    metrics.tasksInState.inc({ state: message.state });
    if (terminalStates.has(message.state)) {
      stateOf.delete(message.taskId);
      metrics.tasksInState.dec({ state: message.state });
    } else {
      stateOf.set(message.taskId, { state: message.state, since: previous?.state === message.state ? previous.since : message.at });
    }
    if (message.state !== previous?.state) {
      metrics.tasksTotal.inc({ status: message.state });
      const outcome = outcomeOf[message.state];
      if (outcome) metrics.taskOutcomes.inc({ outcome });
    }
  };

  return bus.subscribe(subject({ kind: 'events.all' }), async (message) => {
    if (!isTaskEvent(message) || (options.filter && !options.filter(message))) return;
    switch (message.type) {
      case 'task.state':
        onState(message);
        return;
      case 'role.started': {
        // The router's own view (the risk it routed with, raised by complexity) wins over the task's declared one.
        const routed = message.routing;
        const task = routed ? { task_risk: routed.task_risk, task_area: routed.task_area } : await taskLabels(message.taskId);
        labelsOf.set(message.taskId, task);
        metrics.routing.inc({ ...task, model_chosen: message.model });
        initializeCallSeries(metrics, message, task);
        return;
      }
      case 'role.refused':
        // A refusal is a routing decision too; `none` says no model was chosen, the log says why.
        metrics.routing.inc({ task_risk: message.task_risk, task_area: message.task_area, model_chosen: `none (${message.kind})` });
        return;
      case 'role.finished': {
        const status = stageStatus(message.success, message.verdict);
        const model = { provider: message.provider, model: message.model };
        const task = await taskLabels(message.taskId);
        if (message.role !== 'mediator') metrics.stepsTotal.inc({ type: stageOf[message.role], status });
        metrics.llmCalls.inc({ ...model, role: message.role }, message.tries);
        metrics.llmResults.inc({ ...model, role: message.role, status, error_kind: message.error_kind ?? 'none' });
        metrics.llmLatency.observe({ ...model, role: message.role }, message.latency_ms / 1000);
        metrics.llmTokens.inc({ ...model, ...task, direction: 'input' }, message.tokens_input);
        metrics.llmTokens.inc({ ...model, ...task, direction: 'output' }, message.tokens_output);
        metrics.llmCost.inc({ ...model, ...task }, message.cost_usd);
        metrics.llmCostEstimated.inc({ ...model, ...task }, message.tokens_estimated ? message.cost_usd : 0);
        return;
      }
      case 'gate.finished':
        metrics.gateRuns.inc({ status: message.passed ? 'passed' : 'failed' });
        metrics.stepsTotal.inc({ type: 'quality_gate', status: message.passed ? 'passed' : 'retry' });
        // A passing check still gets its series (at 0), so its first failure shows in increase().
        for (const check of message.checks) metrics.checkFailures.inc({ check: check.name }, check.passed ? 0 : 1);
        return;
      case 'task.finished':
        labelsOf.delete(message.taskId);
        metrics.taskDuration.observe({ status: message.state }, message.duration_ms / 1000);
        return;
      default:
        return;
    }
  });
}
