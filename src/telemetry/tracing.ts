import { ROOT_CONTEXT, SpanKind, trace, type Context, type HrTime, type Span, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { ExportResultCode } from '@opentelemetry/core';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { otlpTraceSettings, parseKeyValueList, type OtlpTraceSettings } from './otlp-settings.js';
import { SpanName } from './span-attributes.js';
import { SpanIndex } from './span-index.js';

export interface TracingOptions {
  /** The process environment: the standard OTEL_* variables decide whether and where to export. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** `service.name` unless OTEL_SERVICE_NAME says otherwise, e.g. `tandem-supervisor`. */
  readonly serviceName?: string;
  readonly serviceVersion?: string;
  /**
   * `process`: one `orchestrator.run` for the whole process, every task below it (a `tandem run`).
   * `task`: each task run is its own trace with its own `orchestrator.run`, so a long-lived
   * supervisor service does not grow one endless trace whose root is exported only at exit.
   */
  readonly root?: 'process' | 'task';
  /** Extra processors, e.g. an in-memory exporter in tests. */
  readonly spanProcessors?: readonly SpanProcessor[];
  readonly now?: () => number;
  /**
   * An export that failed at shutdown (collector down); telemetry never fails the run itself. Not
   * called when `onExportError` is given: that one has been told of the failed batch already.
   */
  readonly onError?: (error: unknown) => void;
  /** A batch of spans the exporter could not send while running (see exportErrorReporter). */
  readonly onExportError?: (error: unknown) => void;
}

/** The exporter, telling `onFailure` of every batch it could not send (OTel itself only logs to its diag channel). */
function reportingFailures(exporter: SpanExporter, onFailure: (error: unknown) => void): SpanExporter {
  return {
    export(spans, done) {
      exporter.export(spans, (result) => {
        if (result.code !== ExportResultCode.SUCCESS) onFailure(result.error ?? new Error('span export failed'));
        done(result);
      });
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
  };
}

/**
 * Counts every failed export (orchestrator_trace_export_failures_total, once a registry is given)
 * and writes at most one line per `intervalMs`, saying how many failed since the last line.
 */
export function exportErrorReporter(options: {
  readonly warn: (message: string) => void;
  readonly intervalMs?: number;
  readonly now?: () => number;
  /** What failed to go out, for the line. */
  readonly what?: 'traces' | 'metrics';
}): {
  readonly onExportError: (error: unknown) => void;
  countIn(counter: { inc(): void }): void;
} {
  const intervalMs = options.intervalMs ?? 60_000;
  const now = options.now ?? Date.now;
  let counter: { inc(): void } | undefined;
  let lastLine = -Infinity;
  let unreported = 0;
  return {
    onExportError(error) {
      counter?.inc();
      unreported++;
      if (now() - lastLine < intervalMs) return;
      lastLine = now();
      const more = unreported > 1 ? ` (${String(unreported)} failures since the last report)` : '';
      unreported = 0;
      options.warn(`could not export ${options.what ?? 'traces'}: ${error instanceof Error ? error.message : String(error)}${more}`);
    },
    countIn(c) {
      counter = c;
    },
  };
}

export interface Tracing {
  readonly tracer: Tracer;
  readonly rootMode: 'process' | 'task';
  /** The process's `orchestrator.run`, in `process` root mode. */
  readonly root: Span | undefined;
  /** Where spans go; undefined when nothing is exported. */
  readonly exportTo: OtlpTraceSettings | undefined;
  /** service.name, version and OTEL_RESOURCE_ATTRIBUTES: the same for this process's metrics. */
  readonly resource: Resource;
  readonly spans: SpanIndex;
  readonly now: () => number;
  /** A context whose active span is `span`, to start its children in. */
  contextOf(span: Span | undefined): Context;
  /** Ends the root span and flushes; instant when nothing is exported, bounded by the OTLP timeout otherwise. Never rejects. */
  shutdown(): Promise<void>;
}

/** Span times come from the events' `at` (epoch ms); given as HrTime they are never mistaken for performance.now() values. */
export function hrTime(epochMs: number): HrTime {
  const seconds = Math.floor(epochMs / 1000);
  return [seconds, Math.min(999_999_999, Math.round((epochMs - seconds * 1000) * 1e6))];
}

/**
 * Builds the tracer provider. Spans (and their ids, which every log line carries) always exist;
 * they leave the process only when OTEL_EXPORTER_OTLP_ENDPOINT (or the traces variant) is set.
 * Nothing is registered globally, so several runtimes (and tests) never share a provider.
 */
export function createTracing(options: TracingOptions): Tracing {
  const env = options.env;
  const settings = otlpTraceSettings(env);
  const now = options.now ?? Date.now;
  const resource = resourceFromAttributes({
    [ATTR_SERVICE_NAME]: env['OTEL_SERVICE_NAME']?.trim() || options.serviceName || 'tandem',
    ...(options.serviceVersion ? { [ATTR_SERVICE_VERSION]: options.serviceVersion } : {}),
    ...parseKeyValueList(env['OTEL_RESOURCE_ATTRIBUTES'] ?? '', 'OTEL_RESOURCE_ATTRIBUTES'),
  });
  const processors: SpanProcessor[] = [...(options.spanProcessors ?? [])];
  if (settings) {
    const config = { url: settings.url, headers: { ...settings.headers }, timeoutMillis: settings.timeoutMillis };
    const exporter = settings.protocol === 'http/json' ? new OtlpJsonExporter(config) : new OtlpProtoExporter(config);
    const onExportError = options.onExportError;
    processors.push(
      new BatchSpanProcessor(onExportError ? reportingFailures(exporter, onExportError) : exporter, { exportTimeoutMillis: settings.timeoutMillis }),
    );
  }
  const provider = new BasicTracerProvider({ resource, spanProcessors: processors });
  const tracer = provider.getTracer('tandem', options.serviceVersion);
  const rootMode = options.root ?? 'process';
  const root =
    rootMode === 'process' ? tracer.startSpan(SpanName.orchestratorRun, { kind: SpanKind.INTERNAL, startTime: hrTime(now()) }, ROOT_CONTEXT) : undefined;
  let shutdown: Promise<void> | undefined;

  return {
    tracer,
    rootMode,
    root,
    exportTo: settings,
    resource,
    spans: new SpanIndex(),
    now,
    contextOf: (span) => (span ? trace.setSpan(ROOT_CONTEXT, span) : ROOT_CONTEXT),
    shutdown() {
      shutdown ??= (async () => {
        root?.end(hrTime(now()));
        await provider.shutdown().catch((error: unknown) => (options.onExportError ? undefined : options.onError?.(error)));
      })();
      return shutdown;
    },
  };
}
