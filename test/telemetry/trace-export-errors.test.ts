import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/telemetry/metrics.js';
import { createTracing, exportErrorReporter } from '../../src/telemetry/tracing.js';

/** A port nothing listens on: bound, read, closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('trace export errors', () => {
  it('counts every failure and writes at most one line per interval, with how many it held back', async () => {
    let clock = 0;
    const lines: string[] = [];
    const metrics = createMetrics();
    const reporter = exportErrorReporter({ warn: (m) => lines.push(m), intervalMs: 60_000, now: () => clock });
    reporter.countIn(metrics.traceExportFailures);
    for (let i = 0; i < 5; i++) reporter.onExportError(new Error('ECONNREFUSED'));
    clock = 61_000;
    reporter.onExportError(new Error('ECONNREFUSED'));
    expect(lines).toEqual(['could not export traces: ECONNREFUSED', 'could not export traces: ECONNREFUSED (5 failures since the last report)']);
    expect(await metrics.registry.metrics()).toContain('orchestrator_trace_export_failures_total 6\n');
  });

  it('reports a batch the OTLP exporter could not send to a collector that is down', async () => {
    const metrics = createMetrics();
    const lines: string[] = [];
    const reporter = exportErrorReporter({ warn: (m) => lines.push(m) });
    reporter.countIn(metrics.traceExportFailures);
    const port = await closedPort();
    const tracing = createTracing({
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${String(port)}`, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_TIMEOUT: '2000' },
      onError: () => undefined,
      onExportError: reporter.onExportError,
    });
    tracing.tracer.startSpan('task.run').end();
    await tracing.shutdown();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^could not export traces: /);
    expect(await metrics.registry.metrics()).toMatch(/^orchestrator_trace_export_failures_total [1-9]/m);
  }, 20_000);
});
