import type { AgentRunner } from '../../runners/agent-runner.js';
import type { ModelRef } from '../../model/execution.js';
import { CodeReviewSchema, PlanReviewSchema, ValidationSchema, type Validation } from '../../model/role-outputs.js';
import type { Bus } from '../../bus/bus.js';
import type { TaskEvent } from '../../model/task-events.js';
import { subject } from '../../bus/subjects.js';
import type { Clock } from '../../platform/clock.js';
import type { RouteChoice, RouteRefusal } from '../../routing/router.js';
import type { Logger } from '../../telemetry/logger.js';
import type { RoleOutcome } from './run-with-retry.js';
import type { RoleCallRequest } from './types.js';

/**
 * The lifecycle events of a role call (role.started, role.refused, role.finished). Metrics, traces,
 * the history recorder and people watching all read these, so they are published here only.
 */

export type Publish = (event: TaskEvent) => void;

/** Publishing never holds up or fails a role call: an event that cannot be sent is lost, not fatal. */
export function eventPublisher(bus: Bus): Publish {
  return (event) => {
    void bus.publish(subject({ kind: 'events', taskId: event.taskId, event: event.type }), event).catch(() => undefined);
  };
}

export function publishStarted(
  publish: Publish,
  request: RoleCallRequest<unknown>,
  decision: RouteChoice,
  runner: AgentRunner,
  at: number,
  logger?: Logger,
): void {
  const model = decision.ref;
  publish({
    type: 'role.started',
    taskId: request.taskId,
    at,
    stepId: request.stepId,
    role: request.role,
    provider: model.provider,
    model: model.model,
    runner: runner.name,
    attempt: request.attempt,
    // A simulation's answers say nothing about the model named; readers that learn skip them.
    ...(runner.simulated === true ? { simulated: true } : {}),
    routing: {
      model_name: decision.name,
      source: decision.source,
      reason: decision.reason,
      task_risk: decision.risk,
      task_area: decision.area,
      step_type: decision.stepType,
      complexity: decision.complexity.score,
      estimate_usd: decision.estimateUsd,
    },
  });
  logger?.info(
    {
      task: request.taskId,
      step: request.stepId,
      role: request.role,
      model: model.model,
      model_name: decision.name,
      source: decision.source,
      risk: decision.risk,
      area: decision.area,
      complexity: decision.complexity.score,
      reason: decision.reason,
    },
    `routed the ${request.role} to ${decision.key} (${decision.source})`,
  );
}

export function publishRefused(publish: Publish, request: RoleCallRequest<unknown>, decision: RouteRefusal, at: number, logger?: Logger): void {
  logger?.warn(
    { task: request.taskId, step: request.stepId, role: request.role, kind: decision.kind, reason: decision.reason },
    `no model for the ${request.role}: ${decision.kind}`,
  );
  publish({
    type: 'role.refused',
    taskId: request.taskId,
    at,
    stepId: request.stepId,
    role: request.role,
    kind: decision.kind,
    reason: decision.reason,
    task_risk: decision.risk,
    task_area: decision.area,
  });
}

/** What one model's share of a call used, as the ledger counted it. */
export interface ShareUsage {
  readonly tokensIn: number;
  readonly tokensOut: number;
  readonly estimated: boolean;
  readonly nanos: number;
  /** The part of `nanos` priced from estimated token counts. */
  readonly estimatedNanos: number;
  readonly usd: number;
  readonly replays: number;
}

export function publishFinished(
  publish: Publish,
  request: RoleCallRequest<unknown>,
  share: {
    readonly model: ModelRef;
    readonly runner: AgentRunner;
    readonly started: number;
    readonly outcome: RoleOutcome<unknown>;
    readonly usage: ShareUsage;
  },
  clock: Clock,
): void {
  const { model, outcome, usage } = share;
  publish({
    type: 'role.finished',
    taskId: request.taskId,
    at: clock.now(),
    stepId: request.stepId,
    role: request.role,
    provider: model.provider,
    model: model.model,
    runner: outcome.results.at(-1)?.runner ?? share.runner.name,
    attempt: request.attempt,
    tries: Math.max(1, outcome.tries),
    success: outcome.ok,
    verdict: outcome.ok ? verdictOf(outcome.value) : undefined,
    detail: outcome.ok ? detailOf(outcome.value) : undefined,
    ...(request.role === 'validator' && outcome.ok ? checklistOf(outcome.value) : {}),
    error_kind: outcome.ok ? undefined : outcome.kind,
    error: outcome.ok ? undefined : outcome.error,
    tokens_input: usage.tokensIn,
    tokens_output: usage.tokensOut,
    tokens_estimated: usage.estimated,
    cost_usd: usage.usd,
    latency_ms: clock.now() - share.started,
    ...(usage.replays > 0 && usage.replays === outcome.results.length ? { replayed: true } : {}),
  });
}

function checklistOf(value: unknown): { validation?: Validation } {
  const parsed = ValidationSchema.safeParse(value);
  return parsed.success ? { validation: parsed.data } : {};
}

function verdictOf(value: unknown): string | undefined {
  if (typeof value === 'object' && value !== null) {
    // A validator's verdict: escalate (a person decides), pass or fail.
    if ('pass' in value && typeof value.pass === 'boolean') return 'escalate' in value && value.escalate === true ? 'escalate' : value.pass ? 'pass' : 'fail';
    if ('status' in value && typeof value.status === 'string') return value.status;
    if ('steps' in value && Array.isArray(value.steps)) return `plan with ${value.steps.length} step${value.steps.length === 1 ? '' : 's'}`;
    if ('confidence' in value && typeof value.confidence === 'number') return `confidence ${value.confidence}`;
  }
  return undefined;
}

/** The points a non-approving review raised, on one line. */
function detailOf(value: unknown): string | undefined {
  const parsedCode = CodeReviewSchema.safeParse(value);
  if (parsedCode.success && parsedCode.data.status !== 'approved') {
    const r = parsedCode.data.review;
    return clipLine([...r.required_changes, ...r.security_issues].join('; '));
  }
  const parsedValidation = ValidationSchema.safeParse(value);
  if (parsedValidation.success && (!parsedValidation.data.pass || parsedValidation.data.escalate)) return clipLine(parsedValidation.data.issues.join('; '));
  const parsedPlan = PlanReviewSchema.safeParse(value);
  if (parsedPlan.success && parsedPlan.data.status !== 'approved') {
    const r = parsedPlan.data.review;
    return clipLine([...r.missing_steps, ...r.concerns].join('; '));
  }
  return undefined;
}

function clipLine(text: string): string | undefined {
  const line = text.replace(/\s+/g, ' ').trim();
  if (line === '') return undefined;
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}
