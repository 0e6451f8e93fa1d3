import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { JsonMetricsSerializer, ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import type { Resource } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  MeterProvider,
  PeriodicExportingMetricReader,
  type MetricData,
  type MetricProducer,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import type { MetricObjectWithValues, MetricValue, MetricValueWithName, Registry } from 'prom-client';
import { InputError } from '../platform/errors.js';
import { metricDefinitions } from './metrics.js';
import { otlpMetricSettings, type OtlpTraceSettings } from './otlp-settings.js';
import { hrTime } from './tracing.js';

type Env = Readonly<Record<string, string | undefined>>;

export interface OtlpMetricsConfig {
  readonly settings: OtlpTraceSettings;
  readonly exportIntervalMillis: number;
  readonly exportTimeoutMillis: number;
}

export interface OtlpMetrics {
  /** Exports once more (the last values) and stops; bounded by the OTLP timeout. Never rejects. */
  shutdown(): Promise<void>;
}

/** The names of metrics.ts's table: the instruments both the scrape endpoint and OTLP export. */
const exported = new Map<string, { readonly help: string }>(Object.values(metricDefinitions).map((d) => [d.name, { help: d.help }]));

function positiveMillis(env: Env, name: string, fallback: number): number {
  const text = env[name]?.trim();
  if (!text) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0)
    throw new InputError([{ file: 'environment', field: name, message: `"${text}" must be a positive number of milliseconds` }]);
  return value;
}

const labelsOf = (labels: Partial<Record<string, string | number>>, without?: string): Attributes =>
  Object.fromEntries(Object.entries(labels).filter(([k, v]) => k !== without && v !== undefined));

const seriesKey = (attributes: Attributes): string => JSON.stringify(Object.entries(attributes).sort(([a], [b]) => a.localeCompare(b)));

/**
 * One prom-client metric as OTel metric data: counters as cumulative monotonic sums (named without
 * `_total`, which a Prometheus-bound collector adds back), gauges as gauges, histograms with their
 * buckets (prom-client's cumulative `le` counts turned into per-bucket counts).
 */
function toMetricData(metric: MetricObjectWithValues<MetricValue<string>>, startTime: HrTime, endTime: HrTime): MetricData | undefined {
  const descriptor = (name: string) => ({ name, description: metric.help, unit: '', valueType: ValueType.DOUBLE });
  const base = { aggregationTemporality: AggregationTemporality.CUMULATIVE };
  const point = (value: MetricValue<string>) => ({ startTime, endTime, attributes: labelsOf(value.labels), value: value.value });
  // prom-client's types declare a numeric enum; its JSON says 'counter', 'gauge', 'histogram'.
  const type = String(metric.type);
  if (type === 'counter') {
    return {
      ...base,
      descriptor: descriptor(metric.name.replace(/_total$/, '')),
      dataPointType: DataPointType.SUM,
      isMonotonic: true,
      dataPoints: metric.values.map(point),
    };
  }
  if (type === 'gauge') return { ...base, descriptor: descriptor(metric.name), dataPointType: DataPointType.GAUGE, dataPoints: metric.values.map(point) };
  if (type !== 'histogram') return undefined;
  const series = new Map<string, { attributes: Attributes; buckets: [number, number][]; sum: number; count: number }>();
  for (const value of metric.values as MetricValueWithName<string>[]) {
    const attributes = labelsOf(value.labels, 'le');
    const key = seriesKey(attributes);
    const entry = series.get(key) ?? { attributes, buckets: [], sum: 0, count: 0 };
    series.set(key, entry);
    if (value.metricName === `${metric.name}_bucket`) entry.buckets.push([Number(value.labels.le), value.value]);
    else if (value.metricName === `${metric.name}_sum`) entry.sum = value.value;
    else if (value.metricName === `${metric.name}_count`) entry.count = value.value;
  }
  const dataPoints = [...series.values()].map(({ attributes, buckets, sum, count }) => {
    const finite = buckets.filter(([le]) => Number.isFinite(le)).sort(([a], [b]) => a - b);
    const counts = finite.map(([, cumulative], i) => cumulative - (i === 0 ? 0 : (finite[i - 1]?.[1] ?? 0)));
    counts.push(count - (finite.at(-1)?.[1] ?? 0));
    return { startTime, endTime, attributes, value: { buckets: { boundaries: finite.map(([le]) => le), counts }, sum, count } };
  });
  return { ...base, descriptor: descriptor(metric.name), dataPointType: DataPointType.HISTOGRAM, dataPoints };
}

/** The registry's orchestrator_* metrics, read at each export: no instrument is defined twice. */
function registryProducer(registry: Registry, resource: Resource, startedAt: number): MetricProducer {
  return {
    async collect() {
      const endTime = hrTime(Date.now());
      const metrics = (await registry.getMetricsAsJSON())
        .filter((m) => exported.has(m.name))
        .map((m) => toMetricData(m, hrTime(startedAt), endTime))
        .filter((m): m is MetricData => m !== undefined);
      return { resourceMetrics: { resource, scopeMetrics: [{ scope: { name: 'tandem' }, metrics }] }, errors: [] };
    },
  };
}

/** OTLP/HTTP, protobuf or JSON, with the configured headers and timeout. */
function otlpExporter(settings: OtlpTraceSettings, onExportError?: (error: unknown) => void): PushMetricExporter {
  const json = settings.protocol === 'http/json';
  const send = async (metrics: ResourceMetrics): Promise<ExportResult> => {
    const body = (json ? JsonMetricsSerializer : ProtobufMetricsSerializer).serializeRequest(metrics);
    if (!body) return { code: ExportResultCode.FAILED, error: new Error('could not serialize the metrics') };
    try {
      const response = await fetch(settings.url, {
        method: 'POST',
        headers: { ...settings.headers, 'Content-Type': json ? 'application/json' : 'application/x-protobuf' },
        body,
        signal: AbortSignal.timeout(settings.timeoutMillis),
      });
      await response.arrayBuffer().catch(() => undefined);
      return response.ok
        ? { code: ExportResultCode.SUCCESS }
        : { code: ExportResultCode.FAILED, error: new Error(`the collector answered ${String(response.status)}`) };
    } catch (error) {
      return { code: ExportResultCode.FAILED, error: error instanceof Error ? error : new Error(String(error)) };
    }
  };
  return {
    export(metrics, done) {
      void send(metrics).then((result) => {
        if (result.code !== ExportResultCode.SUCCESS) onExportError?.(result.error);
        done(result);
      });
    },
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
    selectAggregationTemporality: () => AggregationTemporality.CUMULATIVE,
  };
}

/**
 * OTel metrics over OTLP beside the Prometheus endpoint, configured by the standard variables
 * (OTEL_METRICS_EXPORTER, OTEL_EXPORTER_OTLP[_METRICS]_ENDPOINT/_PROTOCOL/_HEADERS/_TIMEOUT,
 * OTEL_METRIC_EXPORT_INTERVAL/_TIMEOUT). Off (undefined) unless an endpoint is set. Throws
 * InputError for a bad setting, so it is read before anything starts.
 */
export function otlpMetricsConfig(env: Env): OtlpMetricsConfig | undefined {
  const settings = otlpMetricSettings(env);
  if (!settings) return undefined;
  const exportIntervalMillis = positiveMillis(env, 'OTEL_METRIC_EXPORT_INTERVAL', 60_000);
  const exportTimeoutMillis = Math.min(exportIntervalMillis, positiveMillis(env, 'OTEL_METRIC_EXPORT_TIMEOUT', 30_000));
  return { settings, exportIntervalMillis, exportTimeoutMillis };
}

/**
 * Exports the registry's values every interval and once more at shutdown. They are those of the
 * one prom-client registry: what Prometheus scrapes and what the collector gets agree.
 */
export function startOtlpMetrics(options: {
  readonly config: OtlpMetricsConfig;
  readonly registry: Registry;
  readonly resource: Resource;
  readonly onExportError?: (error: unknown) => void;
}): OtlpMetrics {
  const { settings, exportIntervalMillis, exportTimeoutMillis } = options.config;
  const reader = new PeriodicExportingMetricReader({
    exporter: otlpExporter(settings, options.onExportError),
    exportIntervalMillis,
    exportTimeoutMillis,
    metricProducers: [registryProducer(options.registry, options.resource, Date.now())],
  });
  const provider = new MeterProvider({ resource: options.resource, readers: [reader] });
  let stopped: Promise<void> | undefined;
  return {
    shutdown() {
      stopped ??= provider.shutdown({ timeoutMillis: settings.timeoutMillis }).catch(() => undefined);
      return stopped;
    },
  };
}
