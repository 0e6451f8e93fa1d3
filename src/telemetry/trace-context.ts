import { ROOT_CONTEXT, defaultTextMapGetter, defaultTextMapSetter, trace, type Span } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

/**
 * W3C trace context (`traceparent`, `tracestate`) in the headers of a role call: the supervisor
 * puts its open span for the task there, the role service starts its spans below it, so a task is
 * one trace across processes. The propagator is used directly, never registered globally (see
 * createTracing: several runtimes and tests share one process).
 */
const propagator = new W3CTraceContextPropagator();

/** `traceparent` (and `tracestate` when set) of `span`; empty when there is no span to continue. */
export function traceHeaders(span: Span | undefined): Record<string, string> {
  const carrier: Record<string, string> = {};
  if (span) propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, defaultTextMapSetter);
  return carrier;
}

/**
 * The span the headers name, as a parent for spans of this process (a non-recording stand-in:
 * the span itself lives in the sender), or undefined when the headers carry no valid context.
 */
export function remoteParent(headers: Readonly<Record<string, string>> | undefined): Span | undefined {
  if (!headers) return undefined;
  // Header names are case-insensitive; the propagator asks for lower-case ones.
  const carrier = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const context = propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
  const spanContext = trace.getSpanContext(context);
  return spanContext && trace.isSpanContextValid(spanContext) ? trace.wrapSpanContext(spanContext) : undefined;
}
