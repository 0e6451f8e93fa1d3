import { trace, type Span } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { LogContext } from './span-index.js';
import type { Tracing } from './tracing.js';

/** pino's `mixin` signature: its result is merged into every log line. */
export type LogMixin = (mergeObject: object, level: number, logger: Logger) => object;

function contextOf(mergeObject: object, logger: Logger): LogContext {
  const fields = mergeObject as LogContext;
  if (typeof fields.task === 'string') return fields;
  // `logger.child({task})` keeps its fields in the bindings, not in the line's own object.
  const bound = logger.bindings() as LogContext;
  return { task: bound.task, step: fields.step ?? bound.step, role: fields.role ?? bound.role };
}

/**
 * Puts `trace_id` and `span_id` on every log line: the open span of the line's task (its
 * `task`, `step` and `role` fields pick the llm.call, gate run, step or task), else the span
 * active in the OTel context, else the process's `orchestrator.run`. A line can then be found
 * from its trace and the trace from its line.
 */
export function traceLogMixin(tracing: Tracing): LogMixin {
  return (mergeObject, _level, logger) => {
    const span: Span | undefined = tracing.spans.find(contextOf(mergeObject, logger)) ?? trace.getActiveSpan() ?? tracing.root;
    if (!span) return {};
    const { traceId, spanId, traceFlags } = span.spanContext();
    return { trace_id: traceId, span_id: spanId, trace_flags: traceFlags.toString(16).padStart(2, '0') };
  };
}
