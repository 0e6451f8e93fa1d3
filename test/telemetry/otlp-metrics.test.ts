import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { InputError } from '../../src/platform/errors.js';
import { createMetrics } from '../../src/telemetry/metrics.js';
import { otlpMetricsConfig, startOtlpMetrics } from '../../src/telemetry/otlp-metrics.js';
import { createTracing } from '../../src/telemetry/tracing.js';

type Value = { stringValue?: string };
interface Point {
  attributes?: { key: string; value: Value }[];
  asDouble?: number;
  asInt?: string | number;
  count?: string | number;
  sum?: number;
  bucketCounts?: (string | number)[];
  explicitBounds?: number[];
}
interface OtlpMetric {
  name: string;
  sum?: { dataPoints: Point[]; isMonotonic?: boolean; aggregationTemporality?: number };
  gauge?: { dataPoints: Point[] };
  histogram?: { dataPoints: Point[] };
}
interface Payload {
  resourceMetrics: { resource: { attributes: { key: string; value: Value }[] }; scopeMetrics: { metrics: OtlpMetric[] }[] }[];
}

/** A stand-in OTLP/HTTP collector on 127.0.0.1 keeping every metrics request. */
async function startReceiver(): Promise<{ url: string; received: { path: string; type: string; body: Buffer }[]; server: Server }> {
  const received: { path: string; type: string; body: Buffer }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', type: req.headers['content-type'] ?? '', body: Buffer.concat(chunks) });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, server };
}

const labels = (p: Point): Record<string, string | undefined> => Object.fromEntries((p.attributes ?? []).map((a) => [a.key, a.value.stringValue]));

describe('OTel metrics over OTLP', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('is off unless an endpoint is configured, and names a bad setting', () => {
    expect(otlpMetricsConfig({})).toBeUndefined();
    expect(otlpMetricsConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_METRICS_EXPORTER: 'none' })).toBeUndefined();
    // The scrape endpoint is the Prometheus exporter: nothing more to push.
    expect(otlpMetricsConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_METRICS_EXPORTER: 'prometheus' })).toBeUndefined();
    expect(otlpMetricsConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' })).toMatchObject({
      settings: { url: 'http://c:4318/v1/metrics', protocol: 'http/protobuf' },
      exportIntervalMillis: 60_000,
    });
    expect(otlpMetricsConfig({ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://m:9/x', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' })?.settings.url).toBe(
      'http://m:9/x',
    );
    const bad = (() => {
      try {
        otlpMetricsConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_METRIC_EXPORT_INTERVAL: '5s' });
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(bad).toBeInstanceOf(InputError);
    expect((bad as InputError).issues[0]).toMatchObject({ field: 'OTEL_METRIC_EXPORT_INTERVAL' });
    expect(() => otlpMetricsConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_METRICS_EXPORTER: 'console' })).toThrow(
      /OTEL_METRICS_EXPORTER|metrics over OTLP/,
    );
  });

  it('sends the registry’s own values (counters, gauges, histograms) with the service’s resource', { timeout: 20_000 }, async () => {
    const receiver = await startReceiver();
    servers.push(receiver.server);
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'tandem-supervisor',
      OTEL_METRIC_EXPORT_INTERVAL: '60000',
    };
    const metrics = createMetrics({ processMetrics: true });
    metrics.taskOutcomes.inc({ outcome: 'success' }, 3);
    metrics.taskOutcomes.inc({ outcome: 'fail' });
    metrics.coverage.set({ repo: 'demo' }, 81.5);
    for (const seconds of [0.2, 3, 3, 700]) metrics.llmLatency.observe({ provider: 'anthropic', model: 'm', role: 'implementer' }, seconds);
    const config = otlpMetricsConfig(env);
    if (!config) throw new Error('expected a config');
    // Per-task roots: no process span of its own goes to /v1/traces.
    const tracing = createTracing({ env, root: 'task' });
    const exporter = startOtlpMetrics({ config, registry: metrics.registry, resource: tracing.resource });
    // The interval is a minute: the one export is the last one, at shutdown.
    await exporter.shutdown();
    await tracing.shutdown();

    expect(receiver.received.map((r) => r.path)).toEqual(['/v1/metrics']);
    expect(receiver.received[0]?.type).toMatch(/^application\/json/);
    const payload = JSON.parse(receiver.received[0]?.body.toString() ?? '{}') as Payload;
    const resource = Object.fromEntries(payload.resourceMetrics[0]?.resource.attributes.map((a) => [a.key, a.value.stringValue]) ?? []);
    expect(resource['service.name']).toBe('tandem-supervisor');
    const all = payload.resourceMetrics.flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics));
    const byName = new Map(all.map((m) => [m.name, m]));
    // Only the table's instruments (no process_* series), counters without the _total Prometheus adds.
    expect(all.every((m) => m.name.startsWith('orchestrator_'))).toBe(true);
    const outcomes = byName.get('orchestrator_task_outcomes');
    expect(outcomes?.sum?.isMonotonic).toBe(true);
    expect(Object.fromEntries((outcomes?.sum?.dataPoints ?? []).map((p) => [labels(p).outcome, p.asDouble]))).toEqual({
      success: 3,
      fail: 1,
      human_required: 0,
    });
    expect(byName.get('orchestrator_quality_coverage_percent')?.gauge?.dataPoints.map((p) => [labels(p).repo, p.asDouble])).toEqual([['demo', 81.5]]);
    const latency = byName.get('orchestrator_llm_latency_seconds')?.histogram?.dataPoints.find((p) => labels(p).role === 'implementer');
    expect(Number(latency?.count)).toBe(4);
    expect(latency?.sum).toBeCloseTo(706.2);
    expect(latency?.explicitBounds).toEqual([0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800]);
    // Per-bucket counts (Prometheus's are cumulative): 0.2 → ≤0.5, 3 and 3 → ≤5, 700 → ≤1800.
    expect(latency?.bucketCounts?.map(Number)).toEqual([1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 1, 0]);
  });

  it('sends protobuf by default (the collector’s usual port 4318 protocol)', { timeout: 20_000 }, async () => {
    const receiver = await startReceiver();
    servers.push(receiver.server);
    const config = otlpMetricsConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_HEADERS: 'x-token=abc' });
    if (!config) throw new Error('expected a config');
    const metrics = createMetrics();
    metrics.coverage.set({ repo: 'demo-repository' }, 42);
    const exporter = startOtlpMetrics({ config, registry: metrics.registry, resource: createTracing({ env: {}, root: 'task' }).resource });
    await exporter.shutdown();
    expect(receiver.received.map((r) => [r.path, r.type])).toEqual([['/v1/metrics', 'application/x-protobuf']]);
    // The metric's name and its label value travel as protobuf strings.
    expect(receiver.received[0]?.body.includes(Buffer.from('orchestrator_quality_coverage_percent'))).toBe(true);
    expect(receiver.received[0]?.body.includes(Buffer.from('demo-repository'))).toBe(true);
  });

  it('reports a collector that is down through onExportError', { timeout: 20_000 }, async () => {
    const receiver = await startReceiver();
    const url = receiver.url;
    await new Promise<void>((resolve) => receiver.server.close(() => resolve()));
    const config = otlpMetricsConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: url, OTEL_EXPORTER_OTLP_TIMEOUT: '2000' });
    if (!config) throw new Error('expected a config');
    const errors: unknown[] = [];
    const tracing = createTracing({ env: {} });
    const exporter = startOtlpMetrics({ config, registry: createMetrics().registry, resource: tracing.resource, onExportError: (e) => errors.push(e) });
    await exporter.shutdown();
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toMatch(/fetch failed|ECONNREFUSED/);
  });
});
