/**
 * tandem as a library: build a runtime with your own runner, store and bus, submit task specs,
 * await their outcomes and subscribe to lifecycle events. The CLI is a thin layer over this.
 */
export { createRuntime } from './runtime/runtime.js';
export type { Runtime, RuntimeConfig, RuntimeOptions, TaskHandle } from './runtime/runtime-api.js';
export type { TaskOutcome } from './runtime/task-outcome.js';
export { TaskRecordSchema } from './model/task-record.js';
export type { TaskRecord } from './model/task-record.js';

export { supervisorMachine, lifecycleState } from './machines/supervisor.js';
export type { SupervisorSnapshot } from './machines/supervisor.js';
export type { SupervisorContext, SupervisorEvent, SupervisorInput } from './machines/supervisor-context.js';

export { TaskSpecSchema, RiskSchema, AreaSchema, PrioritySchema, TaskTypeSchema } from './model/task-spec.js';
export type { TaskSpec, TaskSpecInput, Risk, Area, Priority, TaskType } from './model/task-spec.js';
export { parseTasksYaml } from './tasks/parse-tasks-yaml.js';
export { parseTaskMarkdown } from './tasks/parse-task-md.js';
export { loadTaskFiles } from './tasks/load-tasks.js';
export type { LoadedTask } from './tasks/load-tasks.js';
export { resolveTaskRepos } from './tasks/resolve-repos.js';
export type { ResolvedTask, ResolveReposOptions } from './tasks/resolve-repos.js';

export { loadConfig } from './config/load-config.js';
export type { LoadedConfig, ConfigFlags } from './config/load-config.js';
export { ConfigSchema } from './config/schema.js';
export type { Config, ConfigInput } from './config/schema.js';

export { RoleSchema, ExecutionResultSchema, RunRequestSchema, ModelRefSchema, ErrorKindSchema } from './model/execution.js';
export type { ExecutionResult, RunRequest, ModelRef, Role, ErrorKind } from './model/execution.js';
export type { AgentRunner } from './runners/agent-runner.js';
export { createScriptedRunner } from './runners/scripted.js';
export { createRunners as createModelRunners, asAgentRunners, runnerSettingsFrom, modelRunnerNames } from './runners/registry.js';
export type { ModelRunner, ModelRunnerName } from './runners/registry.js';
export type { ScriptedRunner } from './runners/scripted.js';
export { loadScript, parseScript, ScriptSchema } from './runners/scripted-script.js';
export type { Script, ScriptInput } from './runners/scripted-script.js';
export { PlanSchema, PlanReviewSchema, CodeReviewSchema, ImplementationReportSchema } from './model/role-outputs.js';
export type { Plan, PlanStep, PlanReview, CodeReview, ImplementationReport } from './model/role-outputs.js';

export type { Bus, BusHandler, Subscription } from './bus/bus.js';
export type { Store, StoreEntry, PutOptions } from './store/store.js';
export { createMemoryBus } from './bus/memory-bus.js';
export { createMemoryStore } from './store/memory-store.js';
export { createFileStore } from './store/file-store.js';
export { createNatsBus } from './bus/nats-bus.js';
export { openKvStore } from './store/kv-store.js';
export { connectNats } from './bus/nats-connection.js';
export { subject, SUBJECT_PREFIX } from './bus/subjects.js';
export { TaskEventSchema, ControlMessageSchema, SubmitMessageSchema, ReviewDecisionSchema, TaskStateSchema } from './model/task-events.js';
export type { TaskEvent, ControlMessage, SubmitMessage, ReviewDecision, TaskState } from './model/task-events.js';

export type { QualityGate, GateReport, CheckResult } from './model/gate-report.js';
export { createCommandGate } from './gate/command-gate.js';
export { createRatchetGate } from './gate/ratchet-gate.js';
export type { RatchetGateOptions } from './gate/ratchet-gate.js';
export type { Workspace } from './workspace/workspace.js';
export { createGitWorkspace } from './workspace/git-workspace.js';

export { systemClock } from './platform/clock.js';
export type { Clock } from './platform/clock.js';
export { TandemError, InputError, WorkspaceError, StoreError } from './platform/errors.js';
export type { InputIssue } from './platform/errors.js';
export { createRouting } from './routing/routing.js';
export type { Routing, RoutingOptions } from './routing/routing.js';
export type { RoutingConfig } from './routing/routing-options.js';
export type { Limits } from './model/limits.js';
export { readLedger } from './routing/cost-ledger.js';
export type { LedgerEntry } from './routing/cost-ledger.js';
export { createMetrics, metricDefinitions } from './telemetry/metrics.js';
export { bindMetrics } from './telemetry/bind-metrics.js';
export { observeMediator } from './mediator/observe-mediator.js';
export type { BindMetricsOptions } from './telemetry/bind-metrics.js';
export type { Metrics } from './telemetry/metrics.js';
export { createLogger } from './telemetry/logger.js';
export { createTracing } from './telemetry/tracing.js';
export type { Tracing, TracingOptions } from './telemetry/tracing.js';
