import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { createTracing } from '../../src/telemetry/tracing.js';
import { runTraced } from './traced-run.js';

interface Received {
  readonly path: string;
  readonly contentType: string;
  readonly authorization: string;
  readonly body: Buffer;
}

/** A stand-in OTLP/HTTP collector on 127.0.0.1 that keeps every request it gets. */
async function startReceiver(): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        path: req.url ?? '',
        contentType: req.headers['content-type'] ?? '',
        authorization: req.headers.authorization ?? '',
        body: Buffer.concat(chunks),
      });
      const json = (req.headers['content-type'] ?? '').includes('json');
      res.writeHead(200, { 'Content-Type': json ? 'application/json' : 'application/x-protobuf' });
      res.end(json ? '{}' : undefined);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, server };
}

interface OtlpJson {
  resourceSpans: {
    resource: { attributes: { key: string; value: { stringValue?: string } }[] };
    scopeSpans: { spans: { name: string; traceId: string; attributes: { key: string; value: { stringValue?: string; intValue?: string | number } }[] }[] }[];
  }[];
}

describe('trace export over OTLP/HTTP', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('sends the whole span tree as OTLP JSON to OTEL_EXPORTER_OTLP_ENDPOINT, with the configured headers and service name', async () => {
    const receiver = await startReceiver();
    servers.push(receiver.server);
    const tracing = createTracing({
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20secret',
        OTEL_SERVICE_NAME: 'tandem-supervisor',
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=test',
      },
    });
    expect(tracing.exportTo?.url).toBe(`${receiver.url}/v1/traces`);
    expect((await runTraced(tracing)).state).toBe('DONE');
    await tracing.shutdown();

    expect(receiver.received.length).toBeGreaterThan(0);
    for (const r of receiver.received) {
      expect(r.path).toBe('/v1/traces');
      expect(r.contentType).toMatch(/^application\/json/);
      expect(r.authorization).toBe('Bearer secret');
    }
    const payloads = receiver.received.map((r) => JSON.parse(r.body.toString()) as OtlpJson);
    const resource = payloads[0]?.resourceSpans[0]?.resource.attributes ?? [];
    expect(Object.fromEntries(resource.map((a) => [a.key, a.value.stringValue]))).toMatchObject({
      'service.name': 'tandem-supervisor',
      'deployment.environment': 'test',
    });
    const spans = payloads.flatMap((p) => p.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)));
    const count = (name: string) => spans.filter((s) => s.name === name).length;
    expect({
      run: count('orchestrator.run'),
      task: count('task.run'),
      plan: count('task.plan'),
      review: count('task.review_plan'),
      steps: count('step.run'),
      validate: count('task.validate'),
      calls: count('llm.call'),
      gates: count('quality_gate.run'),
    }).toEqual({
      run: 1,
      task: 1,
      plan: 2,
      review: 2,
      steps: 2,
      validate: 1,
      calls: 11,
      gates: 3,
    });
    expect(new Set(spans.map((s) => s.traceId)).size).toBe(1);
    const call = spans.find((s) => s.name === 'llm.call' && s.attributes.some((a) => a.key === 'llm.role' && a.value.stringValue === 'planner'));
    expect(Object.fromEntries((call?.attributes ?? []).map((a) => [a.key, a.value.stringValue ?? a.value.intValue]))).toMatchObject({
      'gen_ai.system': 'anthropic',
      'gen_ai.request.model': 'claude-sonnet-4-5',
      'gen_ai.operation.name': 'invoke_agent',
      'llm.model_name': 'claude-sonnet-4-5',
    });
  });

  it('sends protobuf (http/protobuf, the OTLP default) when no protocol is set', async () => {
    const receiver = await startReceiver();
    servers.push(receiver.server);
    const tracing = createTracing({ env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/custom/traces` } });
    await runTraced(tracing);
    await tracing.shutdown();
    expect(receiver.received.map((r) => `${r.path} ${r.contentType}`)).toContain('/custom/traces application/x-protobuf');
    const body = Buffer.concat(receiver.received.map((r) => r.body));
    for (const name of [
      'orchestrator.run',
      'task.run',
      'task.plan',
      'task.review_plan',
      'step.run',
      'llm.call',
      'quality_gate.run',
      'gen_ai.usage.input_tokens',
    ]) {
      expect(body.includes(Buffer.from(name)), name).toBe(true);
    }
  });

  it('exports nothing without OTEL_EXPORTER_OTLP_ENDPOINT, and shuts down at once', async () => {
    const tracing = createTracing({ env: { OTEL_SERVICE_NAME: 'tandem' } });
    expect(tracing.exportTo).toBeUndefined();
    await runTraced(tracing);
    const started = performance.now();
    await tracing.shutdown();
    expect(performance.now() - started).toBeLessThan(50);
  });

  it('gives up on an unreachable collector within OTEL_EXPORTER_OTLP_TIMEOUT instead of holding the exit', async () => {
    const receiver = await startReceiver();
    await new Promise<void>((resolve) => receiver.server.close(() => resolve()));
    const errors: unknown[] = [];
    const tracing = createTracing({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_TIMEOUT: '300' }, onError: (e) => errors.push(e) });
    expect((await runTraced(tracing)).state).toBe('DONE');
    const started = performance.now();
    await tracing.shutdown();
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(String(errors[0])).toMatch(/ECONNREFUSED/);
  });
});
