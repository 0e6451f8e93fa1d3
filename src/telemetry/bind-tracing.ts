import { SpanKind, SpanStatusCode, type Attributes, type Span } from '@opentelemetry/api';
import type { Bus, Subscription } from '../bus/bus.js';
import { isTerminal, type TaskEvent, type TaskState } from '../model/task-events.js';
import { subject } from '../bus/subjects.js';
import { isTaskEvent, stageStatus } from './lifecycle-events.js';
import { Attr, ResultStatus, SpanName, genAiOperation, genAiProvider } from './span-attributes.js';
import type { TaskSpans } from './span-index.js';
import type { TaskFactsLookup } from './task-facts.js';
import { hrTime, type Tracing } from './tracing.js';

type EventOf<T extends TaskEvent['type']> = Extract<TaskEvent, { type: T }>;

export interface BindTracingOptions {
  /** Adds the task's risk, area and type and the steps' type and risk, which events do not carry. */
  readonly facts?: TaskFactsLookup;
  /** Which events this process traces (see BindMetricsOptions.filter). */
  readonly filter?: (event: TaskEvent) => boolean;
}

export interface TracingBinding extends Subscription {
  /** Stops listening and ends every span still open (as `interrupted`), before `tracing.shutdown()`. */
  close(): void;
}

const STEP_STATES: ReadonlySet<TaskState> = new Set(['IMPLEMENTING', 'CODE_REVIEW', 'QUALITY_GATE', 'STEP_COMPLETE']);

/** Each phase span: the state it covers, and the states that mean it went well when it is left for them. */
const PHASES = {
  plan: { state: 'PLANNING', success: ['PLAN_REVIEW'] },
  review_plan: { state: 'PLAN_REVIEW', success: ['PLANNED', ...STEP_STATES] },
  // A failed validation goes back to IMPLEMENTING: a retry of the phase, not a success.
  validate: { state: 'VALIDATING', success: ['DONE'] },
} as const satisfies Record<string, { state: TaskState; success: readonly TaskState[] }>;

/** How a phase that is left for `next` went. */
function leftFor(next: TaskState, success: TaskState[]): ResultStatus {
  if (next === 'AWAITING_HUMAN_REVIEW') return ResultStatus.humanRequired;
  if (next === 'FAILED') return ResultStatus.fail;
  if (next === 'ABORTED') return ResultStatus.aborted;
  return success.includes(next) ? ResultStatus.success : ResultStatus.retry;
}

const finalStatus = { DONE: ResultStatus.success, FAILED: ResultStatus.fail, ABORTED: ResultStatus.aborted } as const;

function statusOfEnd(state: TaskState): ResultStatus {
  return isTerminal(state) ? finalStatus[state] : ResultStatus.fail;
}

const callStatus = { passed: ResultStatus.success, retry: ResultStatus.retry, failed: ResultStatus.fail } as const;

/**
 * Traces are built from the lifecycle events, as metrics are: whoever sees the events (the
 * embedded runtime, a supervisor service) produces the same span tree, and the machines stay
 * free of tracing code. Spans get explicit start and end times from the events' `at`.
 *
 *   orchestrator.run → task.run → task.plan / task.review_plan / step.run → llm.call, quality_gate.run
 */
export function bindTracing(bus: Bus, tracing: Tracing, options: BindTracingOptions = {}): TracingBinding {
  const { tracer, spans: index } = tracing;
  const startedAt = new WeakMap<Span, number>();
  // Plan rounds seen per task, for task.plan's and task.review_plan's result.attempt.
  const rounds = new Map<string, number>();

  const start = (name: string, parent: Span | undefined, at: number, attributes: Attributes, kind: SpanKind = SpanKind.INTERNAL): Span => {
    const span = tracer.startSpan(name, { kind, startTime: hrTime(at), attributes }, tracing.contextOf(parent));
    startedAt.set(span, at);
    return span;
  };
  const end = (span: Span | undefined, at: number, status?: ResultStatus, attributes: Attributes = {}): void => {
    if (!span) return;
    span.setAttributes({ ...attributes, ...(status ? { [Attr.resultStatus]: status } : {}) });
    span.end(hrTime(Math.max(at, startedAt.get(span) ?? at)));
  };
  const facts = async (taskId: string) => (options.facts ? await options.facts(taskId).catch(() => undefined) : undefined);

  async function taskOf(event: TaskEvent): Promise<TaskSpans> {
    const open = index.get(event.taskId);
    if (open) return open;
    const task = await facts(event.taskId);
    const root = tracing.rootMode === 'task' ? start(SpanName.orchestratorRun, undefined, event.at, { [Attr.taskId]: event.taskId }) : undefined;
    const run = start(SpanName.taskRun, root ?? tracing.root, event.at, {
      [Attr.taskId]: event.taskId,
      ...(task ? { [Attr.taskRisk]: task.risk, [Attr.taskArea]: task.area, [Attr.taskType]: task.type, [Attr.taskPriority]: task.priority } : {}),
      // A task picked up again: resumed after a restart or a person's decision.
      [Attr.taskResumed]: !(event.type === 'task.state' && event.state === 'NEW'),
    });
    const spans: TaskSpans = { root, run, calls: new Map() };
    index.set(event.taskId, spans);
    return spans;
  }

  function endChildren(spans: TaskSpans, at: number, status: ResultStatus): void {
    for (const call of spans.calls.values()) end(call, at, status);
    spans.calls.clear();
    end(spans.gate, at, status);
    spans.gate = undefined;
    end(spans.phase?.span, at, status);
    spans.phase = undefined;
    end(spans.step?.span, at, status);
    spans.step = undefined;
  }

  function endTask(taskId: string, spans: TaskSpans, at: number, status: ResultStatus, attributes: Attributes = {}): void {
    endChildren(spans, at, status);
    end(spans.run, at, status, attributes);
    end(spans.root, at, status);
    index.delete(taskId);
    rounds.delete(taskId);
  }

  async function onState(event: EventOf<'task.state'>): Promise<void> {
    const spans = await taskOf(event);
    const { state, at } = event;
    // A pause (rate limit) interrupts a phase or a step without ending it: it goes on after.
    const paused = state === 'PAUSED';
    if (spans.phase && !paused && state !== PHASES[spans.phase.kind].state) {
      end(spans.phase.span, at, leftFor(state, [...PHASES[spans.phase.kind].success]));
      spans.phase = undefined;
    }
    if (spans.gate && state !== 'QUALITY_GATE') {
      end(spans.gate, at, leftFor(state, []));
      spans.gate = undefined;
    }
    const step = spans.step;
    if (step) {
      const sameStep = STEP_STATES.has(state) && step.id === event.stepId;
      if (step.completed && !(sameStep && state === 'STEP_COMPLETE')) {
        end(step.span, at);
        spans.step = undefined;
      } else if (!step.completed && !sameStep && !paused) {
        // Left without STEP_COMPLETE: a person skipped the step, or the task rests or ends.
        end(step.span, at, STEP_STATES.has(state) ? ResultStatus.skipped : leftFor(state, []), { [Attr.resultAttempt]: event.attempt });
        spans.step = undefined;
      }
    }
    if (state === 'AWAITING_HUMAN_REVIEW') {
      endTask(event.taskId, spans, at, ResultStatus.humanRequired, event.reason ? { [Attr.taskReason]: event.reason } : {});
      return;
    }
    if (state === 'PLANNING' && !spans.phase) {
      const round = (rounds.get(event.taskId) ?? 0) + 1;
      rounds.set(event.taskId, round);
      spans.phase = { kind: 'plan', span: start(SpanName.taskPlan, spans.run, at, { [Attr.taskId]: event.taskId, [Attr.resultAttempt]: round }) };
    } else if (state === 'PLAN_REVIEW' && !spans.phase) {
      const round = Math.max(1, rounds.get(event.taskId) ?? 0);
      spans.phase = { kind: 'review_plan', span: start(SpanName.taskReviewPlan, spans.run, at, { [Attr.taskId]: event.taskId, [Attr.resultAttempt]: round }) };
    } else if (state === 'VALIDATING' && !spans.phase) {
      spans.phase = { kind: 'validate', span: start(SpanName.taskValidate, spans.run, at, { [Attr.taskId]: event.taskId }) };
    }
    if (STEP_STATES.has(state) && event.stepId && !spans.step) {
      const known = await facts(event.taskId);
      const step = known?.steps.get(event.stepId);
      const complexity = largestComplexity(known?.steps.values() ?? []);
      if (complexity) spans.run.setAttribute(Attr.taskComplexity, complexity);
      const attributes: Attributes = {
        [Attr.taskId]: event.taskId,
        [Attr.stepId]: event.stepId,
        ...(event.stepIndex === undefined ? {} : { [Attr.stepIndex]: event.stepIndex }),
        ...(step
          ? {
              [Attr.stepType]: step.type,
              ...(step.risk ? { [Attr.stepRisk]: step.risk } : {}),
              ...(step.complexity ? { [Attr.stepComplexity]: step.complexity } : {}),
            }
          : {}),
      };
      spans.step = { id: event.stepId, span: start(SpanName.stepRun, spans.run, at, attributes), completed: false };
    }
    if (state === 'QUALITY_GATE' && !spans.gate) {
      spans.gate = start(SpanName.qualityGateRun, spans.step?.span ?? spans.run, at, {
        [Attr.taskId]: event.taskId,
        ...(event.stepId ? { [Attr.stepId]: event.stepId } : {}),
        [Attr.resultAttempt]: event.attempt,
      });
    }
    if (state === 'STEP_COMPLETE' && spans.step && !spans.step.completed) {
      spans.step.completed = true;
      spans.step.span.setAttributes({ [Attr.resultStatus]: ResultStatus.success, [Attr.resultAttempt]: event.attempt });
    }
    if (isTerminal(state)) endChildren(spans, at, finalStatus[state]);
  }

  function parentOfCall(spans: TaskSpans, role: string): Span {
    if (role === 'planner' && spans.phase?.kind === 'plan') return spans.phase.span;
    if (role === 'plan-reviewer' && spans.phase?.kind === 'review_plan') return spans.phase.span;
    if (role === 'validator' && spans.phase?.kind === 'validate') return spans.phase.span;
    if ((role === 'implementer' || role === 'code-reviewer') && spans.step) return spans.step.span;
    return spans.run;
  }

  function callAttributes(event: EventOf<'role.started'> | EventOf<'role.finished'>): Attributes {
    return {
      [Attr.taskId]: event.taskId,
      ...(event.stepId ? { [Attr.stepId]: event.stepId } : {}),
      [Attr.llmProvider]: event.provider,
      [Attr.llmModelName]: event.model,
      [Attr.llmRole]: event.role,
      [Attr.llmRunner]: event.runner,
      [Attr.resultAttempt]: event.attempt,
      [Attr.genAiOperationName]: genAiOperation(event.runner),
      [Attr.genAiSystem]: genAiProvider(event.provider),
      [Attr.genAiProviderName]: genAiProvider(event.provider),
      [Attr.genAiRequestModel]: event.model,
      [Attr.genAiAgentName]: event.role,
    };
  }

  async function onRoleStarted(event: EventOf<'role.started'>): Promise<void> {
    const spans = await taskOf(event);
    end(spans.calls.get(event.role), event.at, ResultStatus.interrupted);
    const routed = event.routing;
    const attributes: Attributes = {
      ...callAttributes(event),
      ...(routed
        ? {
            [Attr.routingSource]: routed.source,
            [Attr.routingReason]: routed.reason,
            [Attr.routingRisk]: routed.task_risk,
            [Attr.routingComplexity]: routed.complexity,
            [Attr.routingEstimateUsd]: routed.estimate_usd,
          }
        : {}),
    };
    spans.calls.set(event.role, start(SpanName.llmCall, parentOfCall(spans, event.role), event.at, attributes, SpanKind.CLIENT));
  }

  async function onRoleFinished(event: EventOf<'role.finished'>): Promise<void> {
    const spans = await taskOf(event);
    const span =
      spans.calls.get(event.role) ??
      start(SpanName.llmCall, parentOfCall(spans, event.role), event.at - event.latency_ms, callAttributes(event), SpanKind.CLIENT);
    spans.calls.delete(event.role);
    if (!event.success) span.setStatus({ code: SpanStatusCode.ERROR, message: event.error ?? event.error_kind ?? 'the call failed' });
    if (event.validation) {
      const checklist = {
        [Attr.validationPass]: event.validation.pass,
        [Attr.validationConfidence]: event.validation.confidence,
        [Attr.validationEscalate]: event.validation.escalate,
        [Attr.validationIssues]: event.validation.issues,
      };
      span.setAttributes(checklist);
      if (spans.phase?.kind === 'validate') spans.phase.span.setAttributes(checklist);
    }
    end(span, event.at, callStatus[stageStatus(event.success, event.verdict)], {
      [Attr.llmPromptTokens]: event.tokens_input,
      [Attr.llmCompletionTokens]: event.tokens_output,
      [Attr.llmTokensEstimated]: event.tokens_estimated,
      [Attr.llmCostUsd]: event.cost_usd,
      [Attr.llmLatencyMs]: event.latency_ms,
      [Attr.llmTries]: event.tries,
      [Attr.genAiResponseModel]: event.model,
      [Attr.genAiUsageInputTokens]: event.tokens_input,
      [Attr.genAiUsageOutputTokens]: event.tokens_output,
      ...(event.verdict ? { [Attr.llmVerdict]: event.verdict } : {}),
      ...(event.error_kind ? { [Attr.errorType]: event.error_kind } : {}),
    });
  }

  async function onGate(event: EventOf<'gate.finished'>): Promise<void> {
    const spans = await taskOf(event);
    const span =
      spans.gate ??
      start(SpanName.qualityGateRun, spans.step?.span ?? spans.run, event.at - event.duration_ms, {
        [Attr.taskId]: event.taskId,
        [Attr.stepId]: event.stepId,
        [Attr.resultAttempt]: event.attempt,
      });
    spans.gate = undefined;
    for (const check of event.checks)
      span.addEvent('quality_gate.check', { name: check.name, passed: check.passed, duration_ms: check.duration_ms }, hrTime(event.at));
    end(span, event.at, event.passed ? ResultStatus.success : ResultStatus.fail, {
      [Attr.resultAttempt]: event.attempt,
      [Attr.gateSummary]: event.summary,
      [Attr.gateChecks]: event.checks.length,
      [Attr.gateChecksFailed]: event.checks.filter((c) => !c.passed).map((c) => c.name),
    });
  }

  async function onCommitted(event: EventOf<'step.committed'>): Promise<void> {
    const spans = await taskOf(event);
    const step = spans.step?.id === event.stepId ? spans.step.span : spans.run;
    step.addEvent('step.committed', { [Attr.stepId]: event.stepId, sha: event.sha, branch: event.branch }, hrTime(event.at));
    if (spans.step?.id === event.stepId) step.setAttribute(Attr.stepCommit, event.sha);
  }

  async function onFinished(event: EventOf<'task.finished'>): Promise<void> {
    const spans = await taskOf(event);
    const status = statusOfEnd(event.state);
    if (event.state === 'FAILED') spans.run.setStatus({ code: SpanStatusCode.ERROR, message: event.reason ?? 'the task failed' });
    endTask(event.taskId, spans, event.at, status, {
      [Attr.taskCostUsd]: event.cost_usd,
      [Attr.taskCommits]: event.commits.length,
      ...(event.branch ? { [Attr.taskBranch]: event.branch } : {}),
      ...(event.reason ? { [Attr.taskReason]: event.reason } : {}),
    });
  }

  const subscription = bus.subscribe(subject({ kind: 'events.all' }), async (message) => {
    if (!isTaskEvent(message) || (options.filter && !options.filter(message))) return;
    switch (message.type) {
      case 'task.state':
        return onState(message);
      case 'role.started':
        return onRoleStarted(message);
      case 'role.finished':
        return onRoleFinished(message);
      case 'gate.finished':
        return onGate(message);
      case 'step.committed':
        return onCommitted(message);
      case 'task.finished':
        return onFinished(message);
      default:
        return;
    }
  });

  let closed = false;
  return {
    unsubscribe: () => subscription.unsubscribe(),
    close() {
      if (closed) return;
      closed = true;
      subscription.unsubscribe();
      const at = tracing.now();
      for (const taskId of index.taskIds()) {
        const spans = index.get(taskId);
        if (spans) endTask(taskId, spans, at, ResultStatus.interrupted);
      }
    },
  };
}

const complexityOrder = ['trivial', 'small', 'medium', 'large'];

/** The largest of the steps' estimated complexities (the plan's own scale), if any step has one. */
function largestComplexity(steps: Iterable<{ readonly complexity?: string | undefined }>): string | undefined {
  let largest: string | undefined;
  for (const { complexity } of steps) {
    if (complexity && (largest === undefined || complexityOrder.indexOf(complexity) > complexityOrder.indexOf(largest))) largest = complexity;
  }
  return largest;
}
