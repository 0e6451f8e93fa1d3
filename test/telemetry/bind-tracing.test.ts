import type { Attributes } from '@opentelemetry/api';
import { SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import type { ScriptInput } from '../../src/runners/scripted-script.js';
import type { QualityGate } from '../../src/model/gate-report.js';
import { createMemoryBus } from '../../src/bus/memory-bus.js';
import type { TaskEvent } from '../../src/model/task-events.js';
import { subject } from '../../src/bus/subjects.js';
import { bindTracing } from '../../src/telemetry/bind-tracing.js';
import { createTracing, type Tracing } from '../../src/telemetry/tracing.js';
import { KeepingExporter, flakyGate, plan, runTraced, script } from './traced-run.js';

/** `name {attr=value …}` lines indented by depth, siblings in start order. */
function renderTree(spans: readonly ReadableSpan[], keys: readonly string[]): string[] {
  const order = new Map(spans.map((s, i) => [s, i]));
  const byParent = new Map<string | undefined, ReadableSpan[]>();
  for (const span of spans) {
    const parent = span.parentSpanContext?.spanId;
    byParent.set(parent, [...(byParent.get(parent) ?? []), span]);
  }
  const time = (s: ReadableSpan) => s.startTime[0] * 1e9 + s.startTime[1];
  const lines: string[] = [];
  const walk = (parent: string | undefined, depth: number): void => {
    const children = [...(byParent.get(parent) ?? [])].sort((a, b) => time(a) - time(b) || (order.get(a) ?? 0) - (order.get(b) ?? 0));
    for (const span of children) {
      const attrs = keys.filter((k) => span.attributes[k] !== undefined).map((k) => `${k}=${String(span.attributes[k])}`);
      lines.push(`${'  '.repeat(depth)}${span.name}${attrs.length > 0 ? ` {${attrs.join(' ')}}` : ''}`);
      walk(span.spanContext().spanId, depth + 1);
    }
  };
  walk(undefined, 0);
  return lines;
}

describe('bindTracing', () => {
  let tracing: Tracing | undefined;
  afterEach(async () => {
    await tracing?.shutdown();
  });

  async function tracedRun(taskExtra: Record<string, unknown> = {}, gate: QualityGate = flakyGate(), s: ScriptInput = script) {
    const exporter = new KeepingExporter();
    tracing = createTracing({ env: {}, serviceName: 'tandem-test', spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const outcome = await runTraced(tracing, { taskExtra, gate, script: s });
    await tracing.shutdown();
    return { outcome, spans: exporter.getFinishedSpans() };
  }

  it('builds the seed span tree of a scripted run, with one trace under orchestrator.run', async () => {
    const { outcome, spans } = await tracedRun();
    expect(outcome.state).toBe('DONE');
    expect(new Set(spans.map((s) => s.spanContext().traceId)).size).toBe(1);
    expect(renderTree(spans, ['step.id', 'llm.role', 'result.attempt', 'result.status'])).toEqual([
      'orchestrator.run',
      '  task.run {result.status=success}',
      '    task.plan {result.attempt=1 result.status=success}',
      '      llm.call {llm.role=planner result.attempt=1 result.status=success}',
      '    task.review_plan {result.attempt=1 result.status=retry}',
      '      llm.call {llm.role=plan-reviewer result.attempt=1 result.status=retry}',
      '    task.plan {result.attempt=2 result.status=success}',
      '      llm.call {llm.role=planner result.attempt=2 result.status=success}',
      '    task.review_plan {result.attempt=2 result.status=success}',
      '      llm.call {llm.role=plan-reviewer result.attempt=2 result.status=success}',
      '    step.run {step.id=S1 result.attempt=2 result.status=success}',
      '      llm.call {step.id=S1 llm.role=implementer result.attempt=1 result.status=success}',
      '      llm.call {step.id=S1 llm.role=code-reviewer result.attempt=1 result.status=success}',
      '      quality_gate.run {step.id=S1 result.attempt=1 result.status=fail}',
      '      llm.call {step.id=S1 llm.role=implementer result.attempt=2 result.status=success}',
      '      llm.call {step.id=S1 llm.role=code-reviewer result.attempt=2 result.status=success}',
      '      quality_gate.run {step.id=S1 result.attempt=2 result.status=success}',
      '    step.run {step.id=S2 result.attempt=1 result.status=success}',
      '      llm.call {step.id=S2 llm.role=implementer result.attempt=1 result.status=success}',
      '      llm.call {step.id=S2 llm.role=code-reviewer result.attempt=1 result.status=success}',
      '      quality_gate.run {step.id=S2 result.attempt=1 result.status=success}',
      '    task.validate {result.status=success}',
      '      llm.call {llm.role=validator result.attempt=1 result.status=success}',
    ]);
  });

  it('puts the validator checklist on task.validate and its call; a failed validation is a retry, its fix-up a step run', async () => {
    const task = script.tasks?.['RAE-001'];
    const validated: ScriptInput = {
      tasks: {
        'RAE-001': {
          ...task,
          validator: [
            { respond: { pass: false, issues: ['the docs miss an example'], confidence: 0.9, escalate: false } },
            { respond: { pass: true, issues: [], confidence: 0.8, escalate: false } },
          ],
        },
      },
    };
    const { outcome, spans } = await tracedRun({}, flakyGate(), validated);
    expect(outcome.state).toBe('DONE');
    expect(renderTree(spans, ['step.id', 'llm.role', 'result.attempt', 'result.status']).slice(-8)).toEqual([
      '    task.validate {result.status=retry}',
      '      llm.call {llm.role=validator result.attempt=1 result.status=retry}',
      '    step.run {step.id=S2 result.attempt=2 result.status=success}',
      '      llm.call {step.id=S2 llm.role=implementer result.attempt=2 result.status=success}',
      '      llm.call {step.id=S2 llm.role=code-reviewer result.attempt=2 result.status=success}',
      '      quality_gate.run {step.id=S2 result.attempt=2 result.status=success}',
      '    task.validate {result.status=success}',
      '      llm.call {llm.role=validator result.attempt=2 result.status=success}',
    ]);
    const phases = spans.filter((s) => s.name === 'task.validate');
    expect(phases.map((s) => [s.attributes['validation.pass'], s.attributes['validation.confidence'], s.attributes['validation.issues']])).toEqual([
      [false, 0.9, ['the docs miss an example']],
      [true, 0.8, []],
    ]);
    const calls = spans.filter((s) => s.attributes['llm.role'] === 'validator');
    expect(calls.map((s) => s.attributes['llm.verdict'])).toEqual(['fail', 'pass']);
  });

  it('carries the seed attributes and the GenAI semantic-convention attributes', async () => {
    const { spans } = await tracedRun();
    const one = (name: string, match: Attributes = {}): ReadableSpan => {
      const found = spans.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.attributes[k] === v));
      expect(found.length, `${name} ${JSON.stringify(match)}`).toBeGreaterThan(0);
      return found[0] as ReadableSpan;
    };
    const run = one('task.run');
    expect(run.attributes).toMatchObject({
      'task.id': 'RAE-001',
      'task.risk': 'high',
      'task.area': 'core',
      'task.type': 'feature',
      // The largest of the plan's step estimates (medium, trivial).
      'task.complexity': 'medium',
      'task.resumed': false,
      'task.commits': 2,
      'task.branch': 'tandem/RAE-001',
      'task.cost_usd': 0,
      'result.status': 'success',
    });
    expect(one('step.run', { 'step.id': 'S1' }).attributes).toMatchObject({
      'task.id': 'RAE-001',
      'step.type': 'implementation',
      'step.risk': 'high',
      'step.complexity': 'medium',
      'step.index': 0,
      'step.commit': 'sha-0',
    });
    expect(one('step.run', { 'step.id': 'S2' }).attributes).toMatchObject({ 'step.type': 'docs', 'step.risk': 'low', 'step.index': 1, 'step.commit': 'sha-1' });

    const implementer = one('llm.call', { 'llm.role': 'implementer', 'step.id': 'S1', 'result.attempt': 2 });
    const promptTokens = implementer.attributes['llm.prompt_tokens'];
    expect(typeof promptTokens === 'number' && promptTokens > 0).toBe(true);
    expect(implementer.attributes).toMatchObject({
      'task.id': 'RAE-001',
      'llm.provider': 'google',
      'llm.model_name': 'gemini-2.5-flash',
      'llm.runner': 'scripted',
      'llm.tokens_estimated': true,
      'llm.cost_usd': 0,
      'llm.tries': 1,
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.system': 'gcp.gemini',
      'gen_ai.provider.name': 'gcp.gemini',
      'gen_ai.request.model': 'gemini-2.5-flash',
      'gen_ai.response.model': 'gemini-2.5-flash',
      'gen_ai.agent.name': 'implementer',
      'gen_ai.usage.input_tokens': promptTokens,
      'gen_ai.usage.output_tokens': implementer.attributes['llm.completion_tokens'],
    });
    expect(implementer.kind).toBe(2); // SpanKind.CLIENT
    // The router's decision travels on role.started and is kept on the call.
    expect(typeof implementer.attributes['routing.source']).toBe('string');
    expect(typeof implementer.attributes['routing.reason']).toBe('string');
    expect(implementer.attributes['routing.task_risk']).toBe('high');
    expect(one('llm.call', { 'llm.role': 'plan-reviewer', 'result.attempt': 1 }).attributes).toMatchObject({
      'llm.verdict': 'needs_revision',
      'gen_ai.system': 'gcp.gemini',
    });
    expect(one('llm.call', { 'llm.role': 'planner', 'result.attempt': 1 }).attributes).toMatchObject({
      'llm.provider': 'anthropic',
      'gen_ai.system': 'anthropic',
      'gen_ai.request.model': 'claude-sonnet-4-5',
    });

    const failedGate = one('quality_gate.run', { 'result.status': 'fail' });
    expect(failedGate.attributes).toMatchObject({
      'quality_gate.summary': '1 of 1 checks failed: tests',
      'quality_gate.checks': 1,
      'quality_gate.checks_failed': ['tests'],
    });
    expect(failedGate.events.map((e) => [e.name, e.attributes])).toEqual([['quality_gate.check', { name: 'tests', passed: false, duration_ms: 5 }]]);
    expect(one('orchestrator.run').resource.attributes['service.name']).toBe('tandem-test');
  });

  it('keeps every child inside its parent in time, with times taken from the events', async () => {
    const before = Date.now();
    const { spans } = await tracedRun();
    const after = Date.now();
    const ms = (t: readonly [number, number]) => t[0] * 1000 + t[1] / 1e6;
    const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
    for (const span of spans) {
      expect(ms(span.startTime)).toBeGreaterThanOrEqual(before - 1);
      expect(ms(span.endTime)).toBeLessThanOrEqual(after + 1);
      const parent = span.parentSpanContext ? byId.get(span.parentSpanContext.spanId) : undefined;
      if (!parent || parent.name === 'orchestrator.run') continue;
      expect(ms(span.startTime), `${span.name} starts inside ${parent.name}`).toBeGreaterThanOrEqual(ms(parent.startTime));
      expect(ms(span.endTime), `${span.name} ends inside ${parent.name}`).toBeLessThanOrEqual(ms(parent.endTime));
    }
  });

  it('ends the task run as human_required when the plan is rejected, and marks a failed call as an error', async () => {
    const rejecting: ScriptInput = {
      tasks: {
        'RAE-001': {
          planner: [{ before: [{ fail: 'timeout' }], respond: plan }],
          'plan-reviewer': [{ respond: { status: 'rejected', review: { concerns: ['too risky'] } } }],
        },
      },
    };
    const { outcome, spans } = await tracedRun({}, flakyGate(), rejecting);
    expect(outcome.state).toBe('AWAITING_HUMAN_REVIEW');
    expect(renderTree(spans, ['llm.role', 'result.status'])).toEqual([
      'orchestrator.run',
      '  task.run {result.status=human_required}',
      '    task.plan {result.status=success}',
      '      llm.call {llm.role=planner result.status=success}',
      '    task.review_plan {result.status=human_required}',
      '      llm.call {llm.role=plan-reviewer result.status=fail}',
    ]);
    const review = spans.find((s) => s.attributes['llm.role'] === 'plan-reviewer');
    expect(review?.status.code).toBe(0); // a rejection is an answer, not an error
    expect(spans.find((s) => s.attributes['llm.role'] === 'planner')?.attributes['llm.tries']).toBe(2);
  });

  it('keeps a phase and a step open across a rate-limit pause, marks a task picked up mid-step as resumed, and ends what is open on close', async () => {
    const exporter = new KeepingExporter();
    tracing = createTracing({ env: {}, spanProcessors: [new SimpleSpanProcessor(exporter)], root: 'task' });
    const bus = createMemoryBus();
    const binding = bindTracing(bus, tracing);
    const call = { provider: 'google', model: 'm', runner: 'gemini-cli', attempt: 1 } as const;
    const finished = { ...call, tries: 1, tokens_input: 1, tokens_output: 1, tokens_estimated: false, cost_usd: 0, latency_ms: 1 } as const;
    const events: TaskEvent[] = [
      { type: 'task.state', taskId: 'P', at: 1_000, state: 'NEW', attempt: 0 },
      { type: 'task.state', taskId: 'P', at: 1_001, state: 'PLANNING', attempt: 0 },
      { type: 'role.started', taskId: 'P', at: 1_002, role: 'planner', ...call },
      { type: 'role.finished', taskId: 'P', at: 1_003, role: 'planner', ...finished, success: false, error_kind: 'rate_limit', error: 'quota' },
      { type: 'task.state', taskId: 'P', at: 1_004, state: 'PAUSED', attempt: 1 },
      { type: 'task.state', taskId: 'P', at: 5_000, state: 'PLANNING', attempt: 1 },
      { type: 'role.started', taskId: 'P', at: 5_001, role: 'planner', ...call, attempt: 2 },
      { type: 'role.finished', taskId: 'P', at: 5_002, role: 'planner', ...finished, attempt: 2, success: true },
      { type: 'task.state', taskId: 'P', at: 5_003, state: 'PLAN_REVIEW', attempt: 1 },
      { type: 'task.state', taskId: 'R', at: 6_000, state: 'IMPLEMENTING', stepId: 'S3', stepIndex: 2, attempt: 2 },
      { type: 'task.state', taskId: 'R', at: 6_001, state: 'PAUSED', stepId: 'S3', attempt: 2 },
      { type: 'task.state', taskId: 'R', at: 9_000, state: 'IMPLEMENTING', stepId: 'S3', attempt: 2 },
    ];
    for (const event of events) await bus.publish(subject({ kind: 'events', taskId: event.taskId, event: event.type }), event);
    await bus.flush();
    binding.close();
    await bus.close();
    await tracing.shutdown();
    const spans = exporter.getFinishedSpans();
    expect(renderTree(spans, ['task.id', 'task.resumed', 'step.id', 'llm.role', 'result.attempt', 'result.status', 'error.type'])).toEqual([
      'orchestrator.run {task.id=P result.status=interrupted}',
      '  task.run {task.id=P task.resumed=false result.status=interrupted}',
      '    task.plan {task.id=P result.attempt=1 result.status=success}',
      '      llm.call {task.id=P llm.role=planner result.attempt=1 result.status=fail error.type=rate_limit}',
      '      llm.call {task.id=P llm.role=planner result.attempt=2 result.status=success}',
      '    task.review_plan {task.id=P result.attempt=1 result.status=interrupted}',
      'orchestrator.run {task.id=R result.status=interrupted}',
      '  task.run {task.id=R task.resumed=true result.status=interrupted}',
      '    step.run {task.id=R step.id=S3 result.status=interrupted}',
    ]);
    expect(spans.find((s) => s.attributes['error.type'] === 'rate_limit')?.status).toEqual({ code: 2, message: 'quota' });
  });

  it('continues a task taken over by another supervisor in the trace its first owner began', async () => {
    const exporter = new KeepingExporter();
    const saved = new Map<string, Readonly<Record<string, string>>>();
    const traces = { load: (id: string) => Promise.resolve(saved.get(id)), save: (id: string, h: Readonly<Record<string, string>>) => void saved.set(id, h) };
    // Two supervisors on one bus; `owner` says which one holds the lease.
    let owner: 'a' | 'b' = 'a';
    const bus = createMemoryBus();
    const [a, b] = (['a', 'b'] as const).map((name) => {
      const own = createTracing({ env: {}, spanProcessors: [new SimpleSpanProcessor(exporter)], root: 'task' });
      const binding = bindTracing(bus, own, { filter: () => owner === name, traces: { ...traces, save: (id, h) => Promise.resolve(traces.save(id, h)) } });
      return { tracing: own, binding };
    });
    const publish = async (event: TaskEvent) => {
      await bus.publish(subject({ kind: 'events', taskId: event.taskId, event: event.type }), event);
      await bus.flush();
    };
    await publish({ type: 'task.state', taskId: 'T', at: 1_000, state: 'NEW', attempt: 0 });
    await publish({ type: 'task.state', taskId: 'T', at: 1_001, state: 'IMPLEMENTING', stepId: 'S1', stepIndex: 0, attempt: 1 });
    // a's lease runs out: b takes the task over, a ends what it had open.
    a?.binding.interrupt('T');
    owner = 'b';
    await publish({ type: 'task.state', taskId: 'T', at: 5_000, state: 'IMPLEMENTING', stepId: 'S1', stepIndex: 0, attempt: 1 });
    await publish({ type: 'task.state', taskId: 'T', at: 5_001, state: 'STEP_COMPLETE', stepId: 'S1', attempt: 1 });
    await publish({ type: 'task.state', taskId: 'T', at: 5_002, state: 'DONE', stepId: 'S1', attempt: 1 });
    await publish({ type: 'task.finished', taskId: 'T', at: 5_003, state: 'DONE', cost_usd: 0, commits: [], duration_ms: 4_003 });
    for (const s of [a, b]) {
      s?.binding.close();
      await s?.tracing.shutdown();
    }
    await bus.close();
    const spans = exporter.getFinishedSpans();
    expect(new Set(spans.map((s) => s.spanContext().traceId)).size).toBe(1);
    expect(renderTree(spans, ['task.resumed', 'step.id', 'result.status'])).toEqual([
      'orchestrator.run {result.status=interrupted}',
      '  task.run {task.resumed=false result.status=interrupted}',
      '    step.run {step.id=S1 result.status=interrupted}',
      '  task.run {task.resumed=true result.status=success}',
      '    step.run {step.id=S1 result.status=success}',
    ]);
  });
});
