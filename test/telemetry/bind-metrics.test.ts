import { describe, expect, it } from 'vitest';
import { createMemoryBus } from '../../src/bus/memory-bus.js';
import type { TaskEvent } from '../../src/model/task-events.js';
import { subject } from '../../src/bus/subjects.js';
import type { GateReport } from '../../src/model/gate-report.js';
import { bindMetrics } from '../../src/telemetry/bind-metrics.js';
import { failingTestLabel, observeGate, regressionsOf } from '../../src/telemetry/gate-metrics.js';
import { observeMediator } from '../../src/mediator/observe-mediator.js';
import type { Mediator } from '../../src/mediator/mediator.js';
import { createMetrics, FAILING_TEST_BUCKETS, FAILING_TEST_NAMES, type Metrics } from '../../src/telemetry/metrics.js';
import type { TaskFacts } from '../../src/telemetry/task-facts.js';

async function feed(metrics: Metrics, events: TaskEvent[], options: Parameters<typeof bindMetrics>[2] = {}): Promise<string> {
  const bus = createMemoryBus();
  const binding = bindMetrics(bus, metrics, options);
  for (const event of events) await bus.publish(subject({ kind: 'events', taskId: event.taskId, event: event.type }), event);
  await bus.flush();
  binding.unsubscribe();
  await bus.close();
  return metrics.registry.metrics();
}

const call = { provider: 'google', model: 'gemini-2.5-flash', runner: 'gemini-cli', attempt: 1 } as const;
const facts: TaskFacts = { risk: 'high', area: 'math', type: 'feature', priority: 'medium', steps: new Map() };

describe('bindMetrics', () => {
  it('starts every known label value at 0, so increase() sees the first count', async () => {
    const text = await createMetrics().registry.metrics();
    expect(text).toContain('orchestrator_tasks_total{status="DONE"} 0\n');
    expect(text).toContain('orchestrator_tasks_in_state{state="PLANNING"} 0\n');
    expect(text).toContain('orchestrator_quality_gate_runs_total{status="failed"} 0\n');
    expect(text).toContain('orchestrator_quality_regressions_total{type="warnings_new"} 0\n');
    expect(text).toContain('orchestrator_steps_total{type="quality_gate",status="retry"} 0\n');
    expect(text).toContain('orchestrator_task_duration_seconds_count{status="FAILED"} 0\n');
    expect(text).toContain('orchestrator_task_state_seconds_count{state="QUALITY_GATE"} 0\n');
  });

  it('counts routing decisions with the router\'s risk and area, else the task\'s, else "unknown"', async () => {
    const routing = {
      source: 'matrix',
      reason: 'math work goes to flash',
      task_risk: 'medium',
      task_area: 'math',
      step_type: 'implementation',
      complexity: 3,
      estimate_usd: 0.01,
    } as const;
    const text = await feed(
      createMetrics(),
      [
        { type: 'role.started', taskId: 'A', at: 1, role: 'implementer', ...call, routing },
        { type: 'role.started', taskId: 'B', at: 2, role: 'implementer', ...call },
      ],
      { facts: (id) => Promise.resolve(id === 'B' ? facts : undefined) },
    );
    expect(text).toContain('orchestrator_model_routing{task_risk="medium",task_area="math",model_chosen="gemini-2.5-flash"} 1\n');
    expect(text).toContain('orchestrator_model_routing{task_risk="high",task_area="math",model_chosen="gemini-2.5-flash"} 1\n');
    // The call's series exist from its start, at 0.
    expect(text).toContain('orchestrator_llm_calls_total{provider="google",model="gemini-2.5-flash",role="implementer"} 0\n');
    expect(text).toContain(
      'orchestrator_llm_results_total{provider="google",model="gemini-2.5-flash",role="implementer",status="retry",error_kind="none"} 0\n',
    );
    const unknown = await feed(createMetrics(), [{ type: 'role.started', taskId: 'C', at: 1, role: 'planner', ...call }]);
    expect(unknown).toContain('orchestrator_model_routing{task_risk="unknown",task_area="unknown",model_chosen="gemini-2.5-flash"} 1\n');
  });

  it('counts call outcomes and latency by model and role, time per state, and failed checks by name', async () => {
    const finished = {
      type: 'role.finished',
      taskId: 'A',
      role: 'code-reviewer',
      ...call,
      tries: 2,
      success: true,
      tokens_input: 100,
      tokens_output: 20,
      tokens_estimated: false,
      cost_usd: 0.5,
      latency_ms: 1500,
    } as const;
    const text = await feed(createMetrics(), [
      { type: 'task.state', taskId: 'A', at: 1_000, state: 'NEW', attempt: 0 },
      { type: 'task.state', taskId: 'A', at: 3_000, state: 'PLANNING', attempt: 0 },
      { type: 'task.state', taskId: 'A', at: 8_000, state: 'PLAN_REVIEW', attempt: 1 },
      { ...finished, at: 9_000, verdict: 'needs_changes' },
      { ...finished, at: 9_500, verdict: 'approved' },
      {
        type: 'gate.finished',
        taskId: 'A',
        at: 10_000,
        stepId: 'S1',
        attempt: 1,
        passed: false,
        summary: '1 of 2 checks failed: lint',
        duration_ms: 10,
        checks: [
          { name: 'test', passed: true, duration_ms: 5 },
          { name: 'lint', passed: false, duration_ms: 5 },
        ],
      },
    ]);
    expect(text).toContain(
      'orchestrator_llm_results_total{provider="google",model="gemini-2.5-flash",role="code-reviewer",status="retry",error_kind="none"} 1\n',
    );
    expect(text).toContain(
      'orchestrator_llm_results_total{provider="google",model="gemini-2.5-flash",role="code-reviewer",status="passed",error_kind="none"} 1\n',
    );
    expect(text).toContain('orchestrator_llm_calls_total{provider="google",model="gemini-2.5-flash",role="code-reviewer"} 4\n');
    expect(text).toContain('orchestrator_llm_latency_seconds_sum{provider="google",model="gemini-2.5-flash",role="code-reviewer"} 3\n');
    expect(text).toContain('orchestrator_llm_latency_seconds_bucket{le="2",provider="google",model="gemini-2.5-flash",role="code-reviewer"} 2\n');
    expect(text).toContain('orchestrator_llm_cost_usd{provider="google",model="gemini-2.5-flash",task_risk="unknown",task_area="unknown"} 1\n');
    expect(text).toContain('orchestrator_task_state_seconds_sum{state="NEW"} 2\n');
    expect(text).toContain('orchestrator_task_state_seconds_sum{state="PLANNING"} 5\n');
    expect(text).toContain('orchestrator_tasks_in_state{state="PLAN_REVIEW"} 1\n');
    expect(text).toContain('orchestrator_quality_check_failures_total{check="lint"} 1\n');
    expect(text).toContain('orchestrator_quality_check_failures_total{check="test"} 0\n');
  });

  it('counts only the events its filter accepts', async () => {
    const text = await feed(
      createMetrics(),
      [
        { type: 'task.state', taskId: 'mine', at: 1, state: 'NEW', attempt: 0 },
        { type: 'task.state', taskId: 'theirs', at: 1, state: 'NEW', attempt: 0 },
      ],
      { filter: (e) => e.taskId === 'mine' },
    );
    expect(text).toContain('orchestrator_tasks_total{status="NEW"} 1\n');
  });

  it('counts outcomes as success, fail and human_required beside the lifecycle states', async () => {
    const state = (
      taskId: string,
      at: number,
      s: TaskEvent & { type: 'task.state' } extends infer E ? (E extends { state: infer S } ? S : never) : never,
    ): TaskEvent => ({ type: 'task.state', taskId, at, state: s, attempt: 0 });
    const text = await feed(createMetrics(), [
      state('A', 1, 'NEW'),
      state('A', 2, 'DONE'),
      state('B', 1, 'NEW'),
      state('B', 2, 'FAILED'),
      state('C', 1, 'NEW'),
      state('C', 2, 'ABORTED'),
      state('D', 1, 'NEW'),
      state('D', 2, 'AWAITING_HUMAN_REVIEW'),
      state('D', 3, 'AWAITING_HUMAN_REVIEW'),
    ]);
    expect(text).toContain('orchestrator_task_outcomes_total{outcome="success"} 1\n');
    expect(text).toContain('orchestrator_task_outcomes_total{outcome="fail"} 2\n');
    expect(text).toContain('orchestrator_task_outcomes_total{outcome="human_required"} 1\n');
    expect(text).toContain('orchestrator_tasks_total{status="DONE"} 1\n');
  });

  it("labels cost and tokens with the task's risk and area, and call results with the error kind", async () => {
    const routing = {
      source: 'matrix',
      reason: 'r',
      task_risk: 'high',
      task_area: 'api',
      step_type: 'implementation',
      complexity: 3,
      estimate_usd: 0.01,
    } as const;
    const done = {
      type: 'role.finished',
      role: 'implementer',
      ...call,
      tries: 1,
      tokens_input: 100,
      tokens_output: 10,
      tokens_estimated: false,
      cost_usd: 0.25,
      latency_ms: 1,
    } as const;
    const text = await feed(
      createMetrics(),
      [
        { type: 'role.started', taskId: 'A', at: 1, role: 'implementer', ...call, routing },
        { ...done, taskId: 'A', at: 2, success: false, error_kind: 'rate_limit' },
        { ...done, taskId: 'A', at: 3, success: true },
        // No role.started seen (another supervisor started the call): the task's facts.
        { ...done, taskId: 'B', at: 4, success: true },
      ],
      { facts: (id) => Promise.resolve(id === 'B' ? facts : undefined) },
    );
    expect(text).toContain('orchestrator_llm_cost_usd{provider="google",model="gemini-2.5-flash",task_risk="high",task_area="api"} 0.5\n');
    expect(text).toContain('orchestrator_llm_cost_usd{provider="google",model="gemini-2.5-flash",task_risk="high",task_area="math"} 0.25\n');
    expect(text).toContain(
      'orchestrator_llm_tokens_total{provider="google",model="gemini-2.5-flash",task_risk="high",task_area="api",direction="input"} 200\n',
    );
    expect(text).toContain(
      'orchestrator_llm_results_total{provider="google",model="gemini-2.5-flash",role="implementer",status="failed",error_kind="rate_limit"} 1\n',
    );
    expect(text).toContain(
      'orchestrator_llm_results_total{provider="google",model="gemini-2.5-flash",role="implementer",status="passed",error_kind="none"} 2\n',
    );
  });

  it('keeps the latency of earlier calls when the same model and role is called again', async () => {
    const calls = 5;
    const events: TaskEvent[] = [];
    for (let i = 0; i < calls; i++) {
      events.push({ type: 'role.started', taskId: `T${i % 2}`, at: i * 10, role: 'implementer', ...call });
      events.push({
        type: 'role.finished',
        taskId: `T${i % 2}`,
        at: i * 10 + 5,
        role: 'implementer',
        ...call,
        tries: 1,
        success: true,
        tokens_input: 1,
        tokens_output: 1,
        tokens_estimated: false,
        cost_usd: 0,
        latency_ms: 1000,
      });
    }
    const metrics = createMetrics();
    await feed(metrics, events);
    // A second binding on the same registry (embedded mode binds per task) must not wipe them either.
    await feed(metrics, [{ type: 'role.started', taskId: 'T9', at: 100, role: 'implementer', ...call }]);
    const text = await metrics.registry.metrics();
    const sumOf = (name: string): number => [...text.matchAll(new RegExp(`^${name}\\{.*\\} (\\S+)$`, 'gm'))].reduce((sum, m) => sum + Number(m[1]), 0);
    const count = sumOf('orchestrator_llm_latency_seconds_count');
    const total = sumOf('orchestrator_llm_latency_seconds_sum');
    expect(count).toBe(calls);
    expect(total).toBe(calls);
  });
});

const check = (name: string, kind: GateReport['checks'][number]['kind'], passed: boolean, regressions?: GateReport['checks'][number]['regressions']) => ({
  name,
  kind,
  command: name,
  passed,
  exit_code: passed ? 0 : 1,
  timed_out: false,
  duration_ms: 1,
  excerpt: '',
  metrics: {},
  ...(regressions ? { regressions } : {}),
});

describe('regressionsOf and observeGate', () => {
  it("counts the ratchet's findings, and a failed check without findings by its kind", () => {
    const report: GateReport = {
      passed: false,
      duration_ms: 3,
      summary: '',
      checks: [
        check('vitest', 'tests', false, [{ type: 'tests_failed', check: 'vitest', count: 3, items: ['a', 'b', 'c'] }]),
        check('eslint', 'lint', false, [{ type: 'warnings_new', check: 'eslint', count: 2, items: ['x', 'y'] }]),
        check('coverage', 'coverage', false),
        check('tsc', 'types', false),
        check('api', 'api', true),
      ],
    };
    expect(Object.fromEntries(regressionsOf(report))).toEqual({ tests_failed: 3, warnings_new: 2, coverage_drop: 1, check_failed: 1 });
  });

  it("adds a gate run's regressions to orchestrator_quality_regressions_total, but not those of an aborted run", async () => {
    const metrics = createMetrics();
    const report: GateReport = { passed: false, duration_ms: 1, summary: '', checks: [check('npm test', 'tests', false)] };
    const gate = observeGate({ run: () => Promise.resolve(report) }, metrics);
    const input = { cwd: '/w', taskId: 'T', stepId: 'S1', baseCommit: 'abc' };
    expect(await gate.run({ ...input, signal: new AbortController().signal })).toBe(report);
    const aborted = new AbortController();
    aborted.abort();
    await gate.run({ ...input, signal: aborted.signal });
    expect(await metrics.registry.metrics()).toContain('orchestrator_quality_regressions_total{type="tests_failed"} 1\n');
  });
});

describe('coverage, failing tests and mediator rejections', () => {
  const input = { cwd: '/w', taskId: 'T', stepId: 'S1', baseCommit: 'abc', signal: new AbortController().signal };

  it('sets the coverage gauge per repository and counts failing tests by name', async () => {
    const metrics = createMetrics();
    const report: GateReport = {
      passed: false,
      duration_ms: 1,
      summary: '',
      checks: [
        {
          ...check('vitest', 'tests', false, [{ type: 'tests_failed', check: 'vitest', count: 2, items: ['adds', 'slugifies'] }]),
          metrics: { coverage_lines_pct: 81.5 },
        },
      ],
    };
    const gate = observeGate({ run: () => Promise.resolve(report) }, metrics, { repoOf: () => Promise.resolve('shop') });
    await gate.run(input);
    await gate.run(input);
    const text = await metrics.registry.metrics();
    expect(text).toContain('orchestrator_quality_coverage_percent{repo="shop"} 81.5\n');
    expect(text).toContain('orchestrator_quality_failing_tests_total{test="adds"} 2\n');
    expect(text).toContain('orchestrator_quality_failing_tests_total{test="slugifies"} 2\n');
  });

  it('names the repository a worktree belongs to by default', async () => {
    const metrics = createMetrics();
    const report: GateReport = {
      passed: true,
      duration_ms: 1,
      summary: '',
      checks: [{ ...check('c8', 'coverage', true), metrics: { coverage_lines_pct: 90 } }],
    };
    await observeGate({ run: () => Promise.resolve(report) }, metrics).run({ ...input, cwd: process.cwd() });
    expect(await metrics.registry.metrics()).toMatch(/orchestrator_quality_coverage_percent\{repo="[^"]+"\} 90\n/);
  });

  it('keeps failing test names bounded: the first names own a series, the rest share hashed buckets', () => {
    const metrics = createMetrics();
    const labels = Array.from({ length: 1000 }, (_, i) => failingTestLabel(metrics, `test ${String(i)}`));
    expect(new Set(labels).size).toBeLessThanOrEqual(FAILING_TEST_NAMES + FAILING_TEST_BUCKETS);
    expect(labels.slice(0, FAILING_TEST_NAMES)).toEqual(Array.from({ length: FAILING_TEST_NAMES }, (_, i) => `test ${String(i)}`));
    expect(labels[FAILING_TEST_NAMES]).toMatch(/^other-\d+$/);
    // Stable: a name keeps its label.
    expect(failingTestLabel(metrics, 'test 999')).toBe(labels[999]);
    expect(failingTestLabel(metrics, 'test 3')).toBe('test 3');
  });

  it("counts the mediator's rejected answers by what was asked", async () => {
    const metrics = createMetrics();
    const rejected = { ok: false, reason: 'rejected', message: 'no', problems: [], attempts: 3 } as const;
    const inner: Mediator = {
      label: 'local',
      interpret: () => Promise.resolve(rejected),
      summarize: () => Promise.resolve({ ok: false, reason: 'unavailable', message: 'down' }),
    };
    const mediator = observeMediator(inner, metrics);
    await mediator.interpret('add a button', { id: 'T1', repo: '/r' });
    await mediator.interpret('add a link', { id: 'T2', repo: '/r' });
    await mediator.summarize({} as Parameters<Mediator['summarize']>[0]);
    const text = await metrics.registry.metrics();
    expect(text).toContain('orchestrator_mediator_rejections_total{request="task"} 2\n');
    expect(text).toContain('orchestrator_mediator_rejections_total{request="summary"} 0\n');
  });
});
