import { cp, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { startTandem, stopAllTandems } from '../helpers/tandem-process.js';
import { observe, startService, type Observer, type Service, type ServiceSetup } from '../helpers/tandem-services.js';

/**
 * The deployed shape: two `tandem serve supervisor` processes and the role services as another,
 * each exporting spans over OTLP/HTTP (JSON) to a receiver in the test. Each task must be one
 * trace, built by the supervisor that holds its lease, with the role services' `llm.call` and
 * `quality_gate.run` spans below the task's own spans (by span id, across processes).
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
const demoTasks = join(root, 'examples', 'demo', 'tasks.yaml');
const demoScript = join(root, 'examples', 'demo', 'script.yaml');
const execFileAsync = promisify(execFile);

type AnyValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
interface KeyValue {
  key: string;
  value: AnyValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: KeyValue[];
}
interface OtlpJson {
  resourceMetrics?: {
    resource?: { attributes?: KeyValue[] };
    scopeMetrics?: { metrics?: { name: string; sum?: { dataPoints?: { attributes?: KeyValue[]; asDouble?: number }[] } }[] }[];
  }[];
  resourceSpans?: { resource?: { attributes?: KeyValue[] }; scopeSpans?: { spans?: OtlpSpan[] }[] }[];
}

interface Exported {
  readonly name: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  /** service.instance.id of the exporting process. */
  readonly from: string;
  readonly attributes: Record<string, string | number | boolean | undefined>;
}

const valueOf = (v: AnyValue): string | number | boolean | undefined =>
  v.stringValue ?? (v.intValue === undefined ? undefined : Number(v.intValue)) ?? v.boolValue ?? v.doubleValue;
const record = (list: KeyValue[] | undefined): Record<string, string | number | boolean | undefined> =>
  Object.fromEntries((list ?? []).map((a) => [a.key, valueOf(a.value)]));

/** An OTLP/HTTP collector on 127.0.0.1 keeping every span it is sent (JSON protocol). */
async function startReceiver(): Promise<{ url: string; spans: Exported[]; outcomes: Map<string, Record<string, number>>; server: Server }> {
  const spans: Exported[] = [];
  /** The last exported orchestrator_task_outcomes of each process, by outcome. */
  const outcomes = new Map<string, Record<string, number>>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as OtlpJson;
      for (const rm of body.resourceMetrics ?? []) {
        const from = String(record(rm.resource?.attributes)['service.instance.id'] ?? '?');
        for (const sm of rm.scopeMetrics ?? [])
          for (const m of sm.metrics ?? [])
            if (m.name === 'orchestrator_task_outcomes')
              outcomes.set(from, Object.fromEntries((m.sum?.dataPoints ?? []).map((p) => [String(record(p.attributes)['outcome']), p.asDouble ?? NaN])));
      }
      for (const rs of body.resourceSpans ?? []) {
        const from = String(record(rs.resource?.attributes)['service.instance.id'] ?? '?');
        for (const ss of rs.scopeSpans ?? [])
          for (const s of ss.spans ?? [])
            spans.push({ name: s.name, traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId ?? '', from, attributes: record(s.attributes) });
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, outcomes, server };
}

/** SIGTERM to the service alone (not its group): it drains, ends its spans and flushes them. */
async function stopGracefully(service: Service): Promise<void> {
  service.child.kill('SIGTERM');
  const timer = setTimeout(() => service.stop(), 20_000);
  await service.exited;
  clearTimeout(timer);
}

describe('one trace per task across the deployed services', () => {
  let nats: NatsServer;
  let work: string;
  let observer: Observer | undefined;
  let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined;
  const services: Service[] = [];

  beforeEach(async () => {
    nats = await startNatsServer();
    work = await realpath(await mkdtemp(join(tmpdir(), 'tandem-traces-')));
  });

  afterEach(async () => {
    for (const service of services.splice(0)) {
      service.stop();
      await service.exited;
    }
    stopAllTandems();
    await observer?.close();
    observer = undefined;
    if (receiver) await new Promise<void>((resolve) => receiver?.server.close(() => resolve()));
    receiver = undefined;
    await nats.cleanup();
    await rm(work, { recursive: true, force: true });
  });

  it('exports each task as one trace, from its lease owner, with the role services’ spans below its step', { timeout: 150_000 }, async () => {
    receiver = await startReceiver();
    const repo = join(work, 'repo');
    await cp(join(root, 'examples', 'demo-repo'), repo, { recursive: true });
    const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };
    for (const args of [
      ['init', '-q', '-b', 'main'],
      ['add', '-A'],
      ['commit', '-q', '-m', 'initial'],
    ])
      await execFileAsync('git', args, { cwd: repo, env: gitEnv });
    // One task at a time per supervisor, so both hold tasks.
    await writeFile(join(work, 'tandem.config.yaml'), 'concurrency: 1\n');
    const setup: ServiceSetup = {
      natsUrl: nats.url,
      stateDir: join(work, 'state'),
      script: demoScript,
      config: join(work, 'tandem.config.yaml'),
      cwd: work,
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '200' },
    };
    const roles = ['planner', 'plan-reviewer', 'implementer', 'code-reviewer', 'quality-gate'];
    for (const [name, kinds] of [
      ['sup-a', ['supervisor']],
      ['sup-b', ['supervisor']],
      ['roles', roles],
    ] as const) {
      // A lease long enough that a loaded machine does not hand tasks between the supervisors mid-way.
      services.push(await startService(setup, name, kinds, ['--lease-ms', '6000'], { env: { OTEL_RESOURCE_ATTRIBUTES: `service.instance.id=${name}` } }));
    }
    observer = await observe(nats.url);
    const submit = startTandem(['submit', demoTasks, '--repo', repo, '--nats', nats.url, '--config', setup.config, '--state-dir', setup.stateDir], {
      cwd: work,
    });
    expect(await submit.exited).toBe(0);
    const ids = ['DEMO-1', 'DEMO-2', 'DEMO-3', 'DEMO-4'];
    const records = await observer.settled(ids, 90_000);
    expect(records.map((r) => r.state)).toEqual(['DONE', 'DONE', 'DONE', 'DONE']);
    const events = [...observer.events];
    const roleOutput = services[2]?.output() ?? '';
    const supervisorOutput = services.slice(0, 2).map((s) => s.output());
    // A takeover (a lease that ran out) would make the two supervisors share a task legitimately.
    expect(supervisorOutput.join('\n')).not.toMatch(/took over task|lost the lease/);
    for (const service of services.splice(0)) await stopGracefully(service);

    const spans = receiver.spans;
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const summary = ids.map((id) => {
      const mine = spans.filter((s) => s.attributes['task.id'] === id);
      const calls = mine.filter((s) => s.name === 'llm.call' || s.name === 'quality_gate.run');
      const parented = calls.filter((s) => {
        const parent = byId.get(s.parentSpanId);
        return parent !== undefined && parent.traceId === s.traceId && parent.attributes['task.id'] === id;
      });
      return {
        id,
        traces: new Set(mine.map((s) => s.traceId)).size,
        taskRuns: mine.filter((s) => s.name === 'task.run').length,
        roots: mine.filter((s) => s.name === 'orchestrator.run' && s.parentSpanId === '').length,
        supervisors: [...new Set(mine.filter((s) => s.from.startsWith('sup-')).map((s) => s.from))],
        callSpans: calls.length,
        callsFromRoles: calls.filter((s) => s.from === 'roles').length,
        callsParented: parented.length,
        calls: events.filter((e) => e.taskId === id && (e.type === 'role.finished' || e.type === 'gate.finished')).length,
        complexity: mine.find((s) => s.name === 'task.run')?.attributes['task.complexity'],
      };
    });
    // The figures for the closing note.
    console.log(JSON.stringify(summary));
    for (const task of summary.filter((t) => t.traces !== 1)) {
      const mine = spans.filter((s) => s.attributes['task.id'] === task.id);
      console.log(
        mine
          .map(
            (s) =>
              `${s.from} ${s.traceId.slice(0, 6)} ${s.spanId.slice(0, 6)}<${s.parentSpanId.slice(0, 6)} ${s.name} ${String(s.attributes['step.id'] ?? '')} ${String(s.attributes['llm.role'] ?? '')} ${String(s.attributes['result.status'] ?? '')}`,
          )
          .join('\n'),
      );
      console.log(
        supervisorOutput
          .map((o, i) =>
            o
              .split('\n')
              .filter((l) => l.includes(task.id))
              .map((l) => `sup${i}: ${l.slice(0, 300)}`)
              .join('\n'),
          )
          .join('\n'),
      );
      console.log(
        events
          .filter((e) => e.taskId === task.id)
          .map((e) => `${e.type} ${'state' in e ? String(e.state) : ''} ${'role' in e ? String(e.role) : ''} ${e.at}`)
          .join('\n'),
      );
    }

    for (const task of summary) {
      expect(task, task.id).toMatchObject({ traces: 1, taskRuns: 1, roots: 1, callSpans: task.calls, callsFromRoles: task.calls, callsParented: task.calls });
      // Only the lease owner exported the task's spans.
      expect(task.supervisors, task.id).toHaveLength(1);
      expect(task.calls).toBeGreaterThan(0);
    }
    // Both supervisors held tasks (concurrency 1 each): the one-owner check covered both.
    expect(new Set(summary.flatMap((t) => t.supervisors)).size).toBe(2);

    // The role services' calls hang below the task's own spans: step.run for a step's calls and gate runs,
    // the plan phases for planning calls, the validate phase for the validator's.
    for (const span of spans.filter((s) => s.from === 'roles')) {
      const parent = byId.get(span.parentSpanId);
      const want = span.attributes['step.id'] === undefined ? ['task.plan', 'task.review_plan', 'task.validate'] : ['step.run'];
      expect(want, `${span.name} ${String(span.attributes['task.id'])}`).toContain(parent?.name);
      if (parent?.name === 'step.run') expect(parent.attributes['step.id']).toBe(span.attributes['step.id']);
    }

    // OTel metrics from the same instruments as /metrics, pushed at exit: each task counted once cluster-wide.
    const success = ['sup-a', 'sup-b'].map((sup) => receiver?.outcomes.get(sup)?.['success']);
    expect(success.every((n) => typeof n === 'number')).toBe(true);
    expect((success[0] ?? 0) + (success[1] ?? 0)).toBe(4);

    // The role services' log lines about a task carry the task's trace.
    const traceOf = new Map(ids.map((id) => [id, spans.find((s) => s.attributes['task.id'] === id)?.traceId]));
    const lines = roleOutput
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { task?: string; trace_id?: string });
    const aboutTasks = lines.filter((l) => typeof l.task === 'string' && traceOf.has(l.task));
    expect(aboutTasks.length).toBeGreaterThan(0);
    expect(aboutTasks.filter((l) => l.trace_id !== traceOf.get(l.task ?? ''))).toEqual([]);
  });
});
