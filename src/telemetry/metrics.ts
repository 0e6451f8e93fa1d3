import { Counter, Histogram, Registry, Gauge, collectDefaultMetrics } from 'prom-client';
import { TaskStateSchema, terminalStates } from '../model/task-events.js';
import { RegressionTypeSchema } from '../model/gate-report.js';

/** Failing test names with a series of their own; later names are hashed into the buckets. */
export const FAILING_TEST_NAMES = 50;
export const FAILING_TEST_BUCKETS = 16;

export const taskOutcomes = ['success', 'fail', 'human_required'] as const;

/**
 * The one table of metric names (DESIGN §10, seed 002). Dashboards and alerts depend on these
 * exact names and labels, so they are declared here once and nowhere else.
 */
export const metricDefinitions = {
  tasksTotal: { name: 'orchestrator_tasks_total', help: 'Tasks that reached a state, by status', labelNames: ['status'] },
  taskDuration: {
    name: 'orchestrator_task_duration_seconds',
    help: 'Wall-clock duration of finished tasks',
    labelNames: ['status'],
    buckets: [1, 5, 15, 30, 60, 300, 900, 1800, 3600, 7200, 21600],
  },
  stepsTotal: { name: 'orchestrator_steps_total', help: 'Step outcomes by step type and status', labelNames: ['type', 'status'] },
  llmCalls: { name: 'orchestrator_llm_calls_total', help: 'Model calls by provider, model and role', labelNames: ['provider', 'model', 'role'] },
  // task_risk and task_area (seed 002: "sum(orchestrator_llm_cost_usd) by (task.risk)") ride along;
  // a sum by (provider, model) reads as before.
  llmTokens: {
    name: 'orchestrator_llm_tokens_total',
    help: "Tokens by provider, model, direction and the task's risk and area",
    labelNames: ['provider', 'model', 'direction', 'task_risk', 'task_area'],
  },
  llmCost: {
    name: 'orchestrator_llm_cost_usd',
    help: "Spend in USD by provider, model and the task's risk and area",
    labelNames: ['provider', 'model', 'task_risk', 'task_area'],
  },
  gateRuns: { name: 'orchestrator_quality_gate_runs_total', help: 'Quality gate runs by status', labelNames: ['status'] },
  regressions: { name: 'orchestrator_quality_regressions_total', help: 'Quality regressions found by the gate, by type', labelNames: ['type'] },
  routing: {
    name: 'orchestrator_model_routing',
    help: 'Routing decisions by task risk, area and chosen model',
    labelNames: ['task_risk', 'task_area', 'model_chosen'],
  },
  tasksInState: { name: 'orchestrator_tasks_in_state', help: 'Tasks currently in each lifecycle state', labelNames: ['state'] },
  // Beyond DESIGN §10: what the Model Performance, Quality and Task Flow dashboards need and the
  // names above cannot answer (latency distribution, success by model, time per state, which check).
  llmLatency: {
    name: 'orchestrator_llm_latency_seconds',
    help: 'Model call latency by provider, model and role',
    labelNames: ['provider', 'model', 'role'],
    buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800],
  },
  llmResults: {
    name: 'orchestrator_llm_results_total',
    help: "Role call outcomes (passed, retry, failed) by provider, model, role and the runner's error kind (none when it answered)",
    labelNames: ['provider', 'model', 'role', 'status', 'error_kind'],
  },
  stateDuration: {
    name: 'orchestrator_task_state_seconds',
    help: 'Time a task spent in a lifecycle state, per visit',
    labelNames: ['state'],
    buckets: [0.1, 1, 5, 15, 60, 300, 900, 1800, 3600, 21600],
  },
  checkFailures: { name: 'orchestrator_quality_check_failures_total', help: 'Failed quality gate checks by check name', labelNames: ['check'] },
  // Issue 5: spend priced from estimated token counts is never mixed in silently; this is the part
  // of orchestrator_llm_cost_usd that is an estimate, so a dashboard can say so.
  llmCostEstimated: {
    name: 'orchestrator_llm_cost_estimated_usd',
    help: 'The part of orchestrator_llm_cost_usd priced from estimated token counts (a runner that reports none)',
    labelNames: ['provider', 'model', 'task_risk', 'task_area'],
  },
  // Seed 002's task statuses. orchestrator_tasks_total{status} keeps counting lifecycle states.
  taskOutcomes: {
    name: 'orchestrator_task_outcomes_total',
    help: 'Tasks that ended (success, fail) or stopped for a person (human_required)',
    labelNames: ['outcome'],
  },
  mediatorRejections: {
    name: 'orchestrator_mediator_rejections_total',
    help: 'Answers of the local mediator model that tandem rejected, by what was asked (task, summary)',
    labelNames: ['request'],
  },
  coverage: { name: 'orchestrator_quality_coverage_percent', help: 'Line coverage the last gate run measured, per repository', labelNames: ['repo'] },
  failingTests: {
    name: 'orchestrator_quality_failing_tests_total',
    help: `Failing tests by name: the first ${String(FAILING_TEST_NAMES)} names seen get their own series, the rest share ${String(FAILING_TEST_BUCKETS)} hashed "other-N" series`,
    labelNames: ['test'],
  },
  traceExportFailures: {
    name: 'orchestrator_trace_export_failures_total',
    help: 'Span batches the OTLP exporter failed to send (collector down or refusing)',
    labelNames: [],
  },
} as const;

export interface Metrics {
  readonly registry: Registry;
  readonly tasksTotal: Counter<'status'>;
  readonly taskDuration: Histogram<'status'>;
  readonly stepsTotal: Counter<'type' | 'status'>;
  readonly llmCalls: Counter<'provider' | 'model' | 'role'>;
  readonly llmTokens: Counter<'provider' | 'model' | 'direction' | 'task_risk' | 'task_area'>;
  readonly llmCost: Counter<'provider' | 'model' | 'task_risk' | 'task_area'>;
  readonly llmCostEstimated: Counter<'provider' | 'model' | 'task_risk' | 'task_area'>;
  readonly gateRuns: Counter<'status'>;
  readonly regressions: Counter<'type'>;
  readonly routing: Counter<'task_risk' | 'task_area' | 'model_chosen'>;
  readonly tasksInState: Gauge<'state'>;
  readonly llmLatency: Histogram<'provider' | 'model' | 'role'>;
  readonly llmResults: Counter<'provider' | 'model' | 'role' | 'status' | 'error_kind'>;
  readonly stateDuration: Histogram<'state'>;
  readonly checkFailures: Counter<'check'>;
  readonly taskOutcomes: Counter<'outcome'>;
  readonly mediatorRejections: Counter<'request'>;
  readonly coverage: Gauge<'repo'>;
  readonly failingTests: Counter<'test'>;
  readonly traceExportFailures: Counter;
}

/** A fresh registry per runtime, so tests and embedded libraries never share global state. */
export function createMetrics(options: { processMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.processMetrics) collectDefaultMetrics({ register: registry });
  const d = metricDefinitions;
  const counter = <L extends string>(def: { name: string; help: string; labelNames: readonly L[] }): Counter<L> =>
    new Counter({ name: def.name, help: def.help, labelNames: def.labelNames, registers: [registry] });
  const histogram = <L extends string>(def: { name: string; help: string; labelNames: readonly L[]; buckets: readonly number[] }): Histogram<L> =>
    new Histogram({ name: def.name, help: def.help, labelNames: def.labelNames, buckets: [...def.buckets], registers: [registry] });
  const metrics: Metrics = {
    registry,
    tasksTotal: counter(d.tasksTotal),
    taskDuration: histogram(d.taskDuration),
    stepsTotal: counter(d.stepsTotal),
    llmCalls: counter(d.llmCalls),
    llmTokens: counter(d.llmTokens),
    llmCost: counter(d.llmCost),
    llmCostEstimated: counter(d.llmCostEstimated),
    gateRuns: counter(d.gateRuns),
    regressions: counter(d.regressions),
    routing: counter(d.routing),
    tasksInState: new Gauge({ name: d.tasksInState.name, help: d.tasksInState.help, labelNames: d.tasksInState.labelNames, registers: [registry] }),
    llmLatency: histogram(d.llmLatency),
    llmResults: counter(d.llmResults),
    stateDuration: histogram(d.stateDuration),
    checkFailures: counter(d.checkFailures),
    taskOutcomes: counter(d.taskOutcomes),
    mediatorRejections: counter(d.mediatorRejections),
    coverage: new Gauge({ name: d.coverage.name, help: d.coverage.help, labelNames: d.coverage.labelNames, registers: [registry] }),
    failingTests: counter(d.failingTests),
    traceExportFailures: counter(d.traceExportFailures),
  };
  initializeKnownSeries(metrics);
  return metrics;
}

/**
 * Every label value known in advance starts at 0. Prometheus's increase() cannot see the jump of
 * a series that is born at 1, so without this the first task of the day, the first failed gate
 * or the first regression of a type would be missing from the dashboards.
 */
function initializeKnownSeries(metrics: Metrics): void {
  for (const state of TaskStateSchema.options) {
    metrics.tasksTotal.inc({ status: state }, 0);
    metrics.tasksInState.set({ state }, 0);
    if (terminalStates.has(state)) metrics.taskDuration.zero({ status: state });
    else metrics.stateDuration.zero({ state });
  }
  for (const status of ['passed', 'failed']) metrics.gateRuns.inc({ status }, 0);
  for (const outcome of taskOutcomes) metrics.taskOutcomes.inc({ outcome }, 0);
  for (const request of ['task', 'summary']) metrics.mediatorRejections.inc({ request }, 0);
  metrics.traceExportFailures.inc(0);
  for (const type of RegressionTypeSchema.options) metrics.regressions.inc({ type }, 0);
  for (const type of ['plan', 'implement', 'review', 'quality_gate']) {
    for (const status of ['passed', 'retry', 'failed']) metrics.stepsTotal.inc({ type, status }, 0);
  }
}
