import { afterEach, describe, expect, it } from 'vitest';
import { InputError } from '../../src/platform/errors.js';
import { createMetrics } from '../../src/telemetry/metrics.js';
import { parseListenAddress, startMetricsServer, type MetricsServer } from '../../src/telemetry/metrics-server.js';

describe('parseListenAddress', () => {
  it('listens on 127.0.0.1 unless a host is given', () => {
    expect(parseListenAddress('9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseListenAddress('0.0.0.0:9464')).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(parseListenAddress('[::]:0')).toEqual({ host: '::', port: 0 });
    expect(parseListenAddress(' localhost:8080 ')).toEqual({ host: 'localhost', port: 8080 });
  });

  it('names the flag for a value that is not a port', () => {
    for (const bad of ['', 'abc', '70000', '1.2.3.4:', ':9464', '9464x']) {
      expect(() => parseListenAddress(bad), bad).toThrow(InputError);
    }
    expect(() => parseListenAddress('x')).toThrow('command line: --metrics-port: "x" is not a port or host:port (e.g. 9464 or 0.0.0.0:9464)');
  });
});

describe('startMetricsServer', () => {
  const servers: MetricsServer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
  });

  it('serves /metrics in the Prometheus text format, /healthz and /readyz on 127.0.0.1', async () => {
    const metrics = createMetrics({ processMetrics: true });
    metrics.tasksTotal.inc({ status: 'DONE' });
    let ready = false;
    const server = await startMetricsServer({ registry: metrics.registry, address: parseListenAddress('0'), ready: () => ready });
    servers.push(server);
    expect(server.host).toBe('127.0.0.1');
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);

    const scrape = await fetch(`${server.url}/metrics`);
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await scrape.text();
    expect(text).toContain('orchestrator_tasks_total{status="DONE"} 1\n');
    expect(text).toContain('orchestrator_tasks_total{status="FAILED"} 0\n');
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes \d/m);

    const health = await fetch(`${server.url}/healthz`);
    expect([health.status, await health.json()]).toEqual([200, { status: 'ok' }]);
    const notReady = await fetch(`${server.url}/readyz`);
    expect([notReady.status, await notReady.json()]).toEqual([503, { status: 'not ready' }]);
    ready = true;
    const nowReady = await fetch(`${server.url}/readyz`);
    expect([nowReady.status, await nowReady.json()]).toEqual([200, { status: 'ready' }]);

    expect((await fetch(`${server.url}/nope`)).status).toBe(404);
    const post = await fetch(`${server.url}/metrics`, { method: 'POST' });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
    const head = await fetch(`${server.url}/metrics`, { method: 'HEAD' });
    expect([head.status, await head.text()]).toEqual([200, '']);
  });

  it('answers 500 when readiness cannot be determined, and keeps serving', async () => {
    const metrics = createMetrics();
    const server = await startMetricsServer({
      registry: metrics.registry,
      address: { host: '127.0.0.1', port: 0 },
      ready: () => Promise.reject(new Error('bus lookup failed')),
    });
    servers.push(server);
    const response = await fetch(`${server.url}/readyz`);
    expect([response.status, await response.text()]).toEqual([500, 'bus lookup failed\n']);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('says which address is taken, naming the flag', async () => {
    const first = await startMetricsServer({ registry: createMetrics().registry, address: { host: '127.0.0.1', port: 0 } });
    servers.push(first);
    const second = startMetricsServer({ registry: createMetrics().registry, address: { host: '127.0.0.1', port: first.port } });
    await expect(second).rejects.toThrow(`command line: --metrics-port: 127.0.0.1:${first.port} is already in use; pick another port`);
  });

  it('closes even while a scraper keeps its connection open', async () => {
    const server = await startMetricsServer({ registry: createMetrics().registry, address: { host: '127.0.0.1', port: 0 } });
    await fetch(`${server.url}/metrics`, { keepalive: true }).then((r) => r.text());
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(1_000);
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });
});
