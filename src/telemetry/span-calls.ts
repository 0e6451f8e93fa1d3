import { SpanKind, SpanStatusCode, type Attributes, type Span } from '@opentelemetry/api';
import type { TaskEvent } from '../model/task-events.js';
import { stageStatus } from './lifecycle-events.js';
import { Attr, ResultStatus, SpanName, genAiOperation, genAiProvider } from './span-attributes.js';
import { hrTime, type Tracing } from './tracing.js';

type EventOf<T extends TaskEvent['type']> = Extract<TaskEvent, { type: T }>;

/** Starts and ends spans at the events' own times (epoch ms); an end is never before its start. */
export interface SpanTimes {
  readonly start: (name: string, parent: Span | undefined, at: number, attributes: Attributes, kind?: SpanKind) => Span;
  readonly end: (span: Span | undefined, at: number, status?: ResultStatus, attributes?: Attributes) => void;
}

export function spanTimes(tracing: Tracing): SpanTimes {
  const startedAt = new WeakMap<Span, number>();
  return {
    start: (name, parent, at, attributes, kind = SpanKind.INTERNAL) => {
      const span = tracing.tracer.startSpan(name, { kind, startTime: hrTime(at), attributes }, tracing.contextOf(parent));
      startedAt.set(span, at);
      return span;
    },
    end: (span, at, status, attributes = {}) => {
      if (!span) return;
      span.setAttributes({ ...attributes, ...(status ? { [Attr.resultStatus]: status } : {}) });
      span.end(hrTime(Math.max(at, startedAt.get(span) ?? at)));
    },
  };
}

const callStatus = { passed: ResultStatus.success, retry: ResultStatus.retry, failed: ResultStatus.fail } as const;

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

/**
 * The `llm.call` and `quality_gate.run` spans, from the events of the process that made the call:
 * the embedded runtime (bind-tracing.ts) and a role service (role-call-tracing.ts) build them alike.
 */
export function callSpans(times: SpanTimes) {
  return {
    /** An `llm.call` from its `role.started`. */
    started(event: EventOf<'role.started'>, parent: Span | undefined): Span {
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
      return times.start(SpanName.llmCall, parent, event.at, attributes, SpanKind.CLIENT);
    },

    /** Ends the call's span (`open`, or one made now from the event's latency when it was never started). */
    finished(event: EventOf<'role.finished'>, open: Span | undefined, parent: Span | undefined): void {
      const span = open ?? times.start(SpanName.llmCall, parent, event.at - event.latency_ms, callAttributes(event), SpanKind.CLIENT);
      if (!event.success) span.setStatus({ code: SpanStatusCode.ERROR, message: event.error ?? event.error_kind ?? 'the call failed' });
      if (event.validation) span.setAttributes(validationAttributes(event.validation));
      times.end(span, event.at, callStatus[stageStatus(event.success, event.verdict)], {
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
    },

    /** Ends the gate run's span (`open`, or one made now covering the run's duration), with its checks. */
    gateFinished(event: EventOf<'gate.finished'>, open: Span | undefined, parent: Span | undefined): void {
      const span =
        open ??
        times.start(SpanName.qualityGateRun, parent, event.at - event.duration_ms, {
          [Attr.taskId]: event.taskId,
          [Attr.stepId]: event.stepId,
          [Attr.resultAttempt]: event.attempt,
        });
      for (const check of event.checks)
        span.addEvent('quality_gate.check', { name: check.name, passed: check.passed, duration_ms: check.duration_ms }, hrTime(event.at));
      times.end(span, event.at, event.passed ? ResultStatus.success : ResultStatus.fail, {
        [Attr.resultAttempt]: event.attempt,
        [Attr.gateSummary]: event.summary,
        [Attr.gateChecks]: event.checks.length,
        [Attr.gateChecksFailed]: event.checks.filter((c) => !c.passed).map((c) => c.name),
      });
    },
  };
}

/** A validator's checklist as span attributes, on its call span and on the task's validate phase. */
export function validationAttributes(validation: NonNullable<EventOf<'role.finished'>['validation']>): Attributes {
  return {
    [Attr.validationPass]: validation.pass,
    [Attr.validationConfidence]: validation.confidence,
    [Attr.validationEscalate]: validation.escalate,
    [Attr.validationIssues]: validation.issues,
  };
}
