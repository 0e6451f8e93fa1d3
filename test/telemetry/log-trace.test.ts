import { SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/telemetry/logger.js';
import { traceLogMixin } from '../../src/telemetry/log-trace.js';
import { createTracing, type Tracing } from '../../src/telemetry/tracing.js';
import { KeepingExporter, runTraced } from './traced-run.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { lines, destination };
}

describe('traceLogMixin', () => {
  let tracing: Tracing | undefined;
  afterEach(async () => {
    await tracing?.shutdown();
  });

  it('puts the most specific open span of the task, step and role of a line on it, else the orchestrator.run span', () => {
    tracing = createTracing({ env: {} });
    const t = tracing;
    const run = t.tracer.startSpan('task.run', {}, t.contextOf(t.root));
    const step = t.tracer.startSpan('step.run', {}, t.contextOf(run));
    const call = t.tracer.startSpan('llm.call', {}, t.contextOf(step));
    t.spans.set('T1', { run, step: { id: 'S1', span: step, completed: false }, calls: new Map([['implementer', call]]) });
    const { lines, destination } = capture();
    const logger = createLogger({ level: 'info', destination, mixin: traceLogMixin(t) });

    logger.child({ task: 'T1', step: 'S1', role: 'implementer' }).info('from a child logger');
    logger.info({ task: 'T1', step: 'S1' }, 'about the step');
    logger.info({ task: 'T1', step: 'S9' }, 'about another step');
    logger.info({ task: 'T2' }, 'a task without spans');
    logger.info('no task at all');

    const ids = (line: Record<string, unknown> | undefined) => [line?.['trace_id'], line?.['span_id']];
    const idsOf = (span: typeof call) => [span.spanContext().traceId, span.spanContext().spanId];
    expect(lines.map((l) => l['msg'])).toEqual(['from a child logger', 'about the step', 'about another step', 'a task without spans', 'no task at all']);
    expect(ids(lines[0])).toEqual(idsOf(call));
    expect(ids(lines[1])).toEqual(idsOf(step));
    expect(ids(lines[2])).toEqual(idsOf(run));
    const root = t.root;
    if (!root) throw new Error('no root span');
    expect(ids(lines[3])).toEqual(idsOf(root));
    expect(ids(lines[4])).toEqual(idsOf(root));
    expect(lines.every((l) => l['trace_flags'] === '01')).toBe(true);
    expect(lines.every((l) => /^[0-9a-f]{32}$/.test(String(l['trace_id'])) && /^[0-9a-f]{16}$/.test(String(l['span_id'])))).toBe(true);
  });

  it('gives every line of a real run the trace and a span of its task', async () => {
    const exporter = new KeepingExporter();
    tracing = createTracing({ env: {}, spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const { lines, destination } = capture();
    const logger = createLogger({ level: 'debug', destination, mixin: traceLogMixin(tracing) });
    expect((await runTraced(tracing, { logger })).state).toBe('DONE');
    await tracing.shutdown();

    const spans = exporter.getFinishedSpans();
    const traceId = spans[0]?.spanContext().traceId;
    const spanIds = new Set(spans.map((s) => s.spanContext().spanId));
    expect(lines.length).toBeGreaterThan(20);
    for (const line of lines) {
      expect(line['trace_id'], String(line['msg'])).toBe(traceId);
      expect(spanIds.has(String(line['span_id'])), String(line['msg'])).toBe(true);
    }
    // A line about a model call points into that call's part of the tree.
    const answered = lines.find((l) => l['msg'] === 'planner answered');
    const span = spans.find((s) => s.spanContext().spanId === answered?.['span_id']);
    expect(['llm.call', 'task.plan']).toContain(span?.name);
  });
});
