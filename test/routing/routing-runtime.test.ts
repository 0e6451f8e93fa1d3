import { describe, expect, it } from 'vitest';
import type { ExecutionResult } from '../../src/model/execution.js';
import type { AgentRunner } from '../../src/runners/agent-runner.js';
import type { ScriptInput } from '../../src/runners/scripted-script.js';
import { createScriptedRunner } from '../../src/runners/scripted.js';
import { createMemoryBus } from '../../src/bus/memory-bus.js';
import { createMemoryStore } from '../../src/store/memory-store.js';
import type { TaskEvent } from '../../src/model/task-events.js';
import type { Store } from '../../src/store/store.js';
import { ConfigSchema, type ConfigInput } from '../../src/config/schema.js';
import { InputError } from '../../src/platform/errors.js';
import { readLedger } from '../../src/routing/cost-ledger.js';
import { buildCostReport } from '../../src/routing/cost-report.js';
import { sumUsd } from '../../src/routing/model-registry.js';
import { createRouting } from '../../src/routing/routing.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { TaskSpecSchema } from '../../src/model/task-spec.js';
import { createMetrics } from '../../src/telemetry/metrics.js';
import { bindMetrics } from '../../src/telemetry/bind-metrics.js';
import { formatSummary } from '../../src/cli/progress.js';
import { formatCost, formatUsd } from '../../src/platform/format.js';
import { statusRow } from '../../src/cli/status.js';
import { statusDetail, statusLine } from '../../src/notify/telegram-text.js';
import { summaryFacts, templateSummary } from '../../src/intake/task-summary.js';
import { createLogger, type Logger } from '../../src/telemetry/logger.js';
import { fakeWorkspace, passingGate } from '../helpers/fake-ports.js';
import { manualClock, type ManualClock } from '../helpers/manual-clock.js';

/**
 * The routing wired into the runtime, with the scripted runner and fake git and gate: budget
 * stops and `raise_budget`, downgrades, rate-limit fallbacks and pauses across a restart, retries
 * with backoff before a fallback, per-model concurrency, and a ledger that adds up.
 */

const plan = (id: string, steps = ['S1']) => ({ task_id: id, steps: steps.map((s) => ({ id: s, type: 'implementation', description: `do ${s}` })) });
const approveAll = {
  'plan-reviewer': [{ respond: { status: 'approved' } }],
  'code-reviewer': [{ respond: { status: 'approved' } }],
  implementer: [{ respond: { explanation: 'done', confidence: 0.9 } }],
};
/** Area api: the shipped matrix plans and implements medium-risk API work on Gemini Pro (seed 002). */
const task = (id: string, extra: Record<string, unknown> = {}) => ({
  spec: TaskSpecSchema.parse({ id, goal: 'do it', area: 'api', ...extra }),
  repo: '/repo',
  base: 'main',
  baseCommit: 'abc',
});

/** The scripted runner under another name, reporting real token counts priced by the config (like gemini-cli does). */
function priced(runner: AgentRunner, name: string): AgentRunner {
  return {
    name,
    async run(request, options): Promise<ExecutionResult> {
      const result = await runner.run(request, options);
      return {
        ...result,
        runner: name,
        tokens_input: 1_000 * request.attempt + request.prompt.length,
        tokens_output: 500,
        tokens_estimated: false,
        cost_source: 'price_table',
      };
    },
  };
}

interface Setup {
  config?: ConfigInput;
  runners?: ReadonlyMap<string, AgentRunner>;
  store?: Store;
  clock?: ManualClock;
  logger?: Logger;
}

function setup(options: Setup) {
  // These runs follow the four step roles' calls one by one; the ledger test below runs the validator too.
  const config = ConfigSchema.parse({ limits: { retry_base_delay_ms: 0, validate: false }, ...options.config });
  const store = options.store ?? createMemoryStore();
  const bus = createMemoryBus();
  const clock = options.clock ?? manualClock(Date.UTC(2025, 2, 10));
  const runners = options.runners ?? new Map();
  const metrics = createMetrics();
  const routing = createRouting({ config, store, clock, random: () => 0.5, runnerAvailable: (name) => runners.has(name) });
  const runtime = createRuntime({
    config,
    runners,
    store,
    bus,
    gate: passingGate(),
    workspace: fakeWorkspace(),
    clock,
    random: () => 0.5,
    routing,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  // The host counts metrics from the bus (the runtime only publishes events).
  bindMetrics(bus, metrics);
  const events: TaskEvent[] = [];
  runtime.onEvent((e) => events.push(e));
  const started = () => events.flatMap((e) => (e.type === 'role.started' ? [`${e.role}:${e.routing?.model_name ?? e.model}:${e.routing?.source ?? '?'}`] : []));
  return { config, store, bus, clock, runtime, routing, metrics, events, started };
}

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('budgets in a run', () => {
  it('stops a task whose next call would exceed its budget (AWAITING_HUMAN_REVIEW, kind budget); raise_budget continues it', async () => {
    const runner = createScriptedRunner({ script: { defaults: approveAll, tasks: { B1: { planner: [{ respond: plan('B1') }] } } } });
    const h = setup({ config: { runner_override: 'scripted' }, runners: new Map([['scripted', runner]]) });
    const stopped = await (await h.runtime.submit(task('B1', { budget_usd: 0.001 }))).outcome;
    expect(stopped.state).toBe('AWAITING_HUMAN_REVIEW');
    const record = await h.runtime.get('B1');
    expect(record?.waiting).toEqual({
      stage: 'plan',
      kind: 'budget',
      reason: expect.stringMatching(
        /^the task budget of \$0\.0010 would be exceeded: \$0\.00 spent \+ \$0\.0\d+ estimated for this call; no cheaper model in the fallback chain of pro fits$/,
      ) as unknown,
    });
    expect(runner.calls()).toEqual([]);
    // The refusal is a routing decision too: published, and counted with no model chosen.
    expect(h.events.filter((e) => e.type === 'role.refused')).toMatchObject([
      { taskId: 'B1', role: 'planner', kind: 'budget', task_risk: 'medium', task_area: 'api' },
    ]);
    expect(await h.metrics.registry.getSingleMetricAsString('orchestrator_model_routing')).toContain(
      'orchestrator_model_routing{task_risk="medium",task_area="api",model_chosen="none (budget)"} 1',
    );

    // Any other decision is refused for a raise, and a raise is refused for any other wait.
    const outcome = await (await h.runtime.decide('B1', { decision: 'raise_budget', usd: 1 })).outcome;
    expect(outcome.state).toBe('DONE');
    expect(runner.calls().map((c) => c.role)).toEqual(['planner', 'plan-reviewer', 'implementer', 'code-reviewer']);
    await h.runtime.close();
  });

  it('refuses --raise-budget for a task that waits for another reason', async () => {
    const runner = createScriptedRunner({ script: { defaults: approveAll, tasks: { B2: { planner: [{ respond: { status: 'not a plan' } }] } } } });
    const h = setup({ config: { runner_override: 'scripted' }, runners: new Map([['scripted', runner]]) });
    expect((await (await h.runtime.submit(task('B2'))).outcome).state).toBe('AWAITING_HUMAN_REVIEW');
    await expect(h.runtime.decide('B2', { decision: 'raise_budget', usd: 5 })).rejects.toThrow(InputError);
    await expect(h.runtime.decide('B2', { decision: 'raise_budget', usd: 5 })).rejects.toThrow(/waits for a person because of role_failed, not a budget/);
    await h.runtime.close();
  });

  it('downgrades to a cheaper model of the fallback chain when that one fits', async () => {
    const runner = createScriptedRunner({ script: { defaults: approveAll, tasks: { B3: { planner: [{ respond: plan('B3') }] } } } });
    // The implementer's call on pro is estimated at about $0.04 (4,000 tokens out at $10/M); on flash at about $0.01.
    const h = setup({ config: { runner_override: 'scripted', budgets: { task_usd: 0.03 } }, runners: new Map([['scripted', runner]]) });
    expect((await (await h.runtime.submit(task('B3'))).outcome).state).toBe('DONE');
    expect(h.started()).toEqual(['planner:pro:matrix', 'plan-reviewer:sonnet:matrix', 'implementer:flash:downgrade', 'code-reviewer:sonnet:matrix']);
    const routed = h.events.find((e) => e.type === 'role.started' && e.role === 'implementer');
    expect(routed?.type === 'role.started' && routed.routing?.reason).toMatch(
      /the task budget of \$0\.03 would be exceeded: \$0\.00 spent \+ \$0\.04 estimated for this call on pro; downgraded to flash/,
    );
    await h.runtime.close();
  });
});

describe('the ledger in a run', () => {
  it('records every call; the task record, the events, the metrics and the cost report all add up to it exactly', async () => {
    const script: ScriptInput = {
      defaults: approveAll,
      tasks: {
        C1: {
          planner: [{ respond: plan('C1', ['S1', 'S2']) }],
          steps: {
            S1: { 'code-reviewer': [{ respond: { status: 'needs_changes', review: { required_changes: ['more'] } } }, { respond: { status: 'approved' } }] },
          },
        },
      },
    };
    const base = createScriptedRunner({ script });
    const runners = new Map<string, AgentRunner>([
      ['gemini-cli', priced(base, 'gemini-cli')],
      ['claude-code', priced(base, 'claude-code')],
    ]);
    // With the validator: its call is priced and recorded like any other.
    const h = setup({ runners, config: { limits: { retry_base_delay_ms: 0 } } });
    const outcome = await (await h.runtime.submit(task('C1'))).outcome;
    await h.runtime.idle();
    expect(outcome.state).toBe('DONE');

    const entries = await readLedger(h.store);
    expect(entries.map((e) => `${e.role}:${e.model_name ?? '?'}:${e.step_id ?? '-'}:${e.attempt}`)).toEqual([
      'planner:pro:-:1',
      'plan-reviewer:sonnet:-:1',
      'implementer:pro:S1:1',
      'code-reviewer:sonnet:S1:1',
      'implementer:pro:S1:2',
      'code-reviewer:sonnet:S1:2',
      'implementer:pro:S2:1',
      'code-reviewer:sonnet:S2:1',
      'validator:sonnet:-:1',
    ]);
    expect(entries.every((e) => e.usd_source === 'registry' && !e.estimated && e.usd > 0 && e.outcome === 'ok')).toBe(true);
    const total = sumUsd(entries.map((e) => e.usd));
    expect(outcome.costUsd).toBe(total);
    expect(sumUsd(h.events.flatMap((e) => (e.type === 'role.finished' ? [e.cost_usd] : [])))).toBe(total);
    const report = buildCostReport(entries, { by: 'role', registry: h.routing.registry });
    expect(report.real.total.usd).toBe(total);
    expect(report.real.total.calls).toBe(9);
    expect(sumUsd(report.real.rows.map((r) => r.usd))).toBe(total);
    const metrics = await h.metrics.registry.getSingleMetricAsString('orchestrator_llm_cost_usd');
    const metricSum = sumUsd([...metrics.matchAll(/^orchestrator_llm_cost_usd\{[^}]*\} (\S+)$/gm)].map((m) => Number(m[1])));
    expect(metricSum).toBeCloseTo(total, 12);
    const routingMetric = await h.metrics.registry.getSingleMetricAsString('orchestrator_model_routing');
    expect(routingMetric).toContain('orchestrator_model_routing{task_risk="medium",task_area="api",model_chosen="gemini-2.5-pro"} 4');
    expect(routingMetric).toContain('orchestrator_model_routing{task_risk="medium",task_area="api",model_chosen="claude-sonnet-4-5"} 5');
    // The planner's approved plan and both steps became history the router can learn from.
    expect(h.routing.history.size()).toBe(3);
    await h.runtime.close();
  });

  it('keeps the cost of a runner that reports no token counts apart as estimated, in the record, the outcome, status, Telegram, results and metrics', async () => {
    const script: ScriptInput = { defaults: approveAll, tasks: { E1: { planner: [{ respond: plan('E1') }] } } };
    const base = createScriptedRunner({ script });
    /** Like a CLI that prints no usage: tandem estimates the tokens and prices them from the registry. */
    const estimating = (name: string): AgentRunner => ({
      name,
      async run(request, options) {
        const result = await base.run(request, options);
        return { ...result, runner: name, tokens_input: 4_000, tokens_output: 1_000, tokens_estimated: true, cost_source: 'price_table' };
      },
    });
    const runners = new Map<string, AgentRunner>([
      ['gemini-cli', priced(base, 'gemini-cli')],
      ['claude-code', estimating('claude-code')],
    ]);
    const h = setup({ runners });
    const outcome = await (await h.runtime.submit(task('E1'))).outcome;
    await h.runtime.idle();
    expect(outcome.state).toBe('DONE');

    const entries = await readLedger(h.store);
    const estimated = sumUsd(entries.filter((e) => e.estimated).map((e) => e.usd));
    const total = sumUsd(entries.map((e) => e.usd));
    // Claude (the reviewers here) estimated, Gemini (planner, implementer) real: both parts are there.
    expect(estimated).toBeGreaterThan(0);
    expect(estimated).toBeLessThan(total);
    expect(outcome.costUsd).toBe(total);
    expect(outcome.estimatedCostUsd).toBeCloseTo(estimated, 9);
    const record = await h.runtime.get('E1');
    expect(record?.estimatedCostUsd).toBeCloseTo(estimated, 9);
    const finished = h.events.find((e) => e.type === 'task.finished');
    expect(finished?.type === 'task.finished' ? finished.cost_estimated_usd : undefined).toBeCloseTo(estimated, 9);

    const marked = `${formatUsd(total)} (~${formatUsd(estimated)} estimated)`;
    expect(formatCost(total, estimated)).toBe(marked);
    if (!record) throw new Error('no record');
    expect(statusRow(record, 0)).toContain(marked);
    expect(statusRow({ ...record, state: 'ABORTED' }, 0).at(-1)).toBe('-');
    expect(statusLine(record)).toContain(marked);
    expect(statusDetail(record, 0)).toContain(`Cost: ${marked}`);
    expect(formatSummary([{ outcome, steps: '1/1', calls: 4 }])).toContain(marked);
    expect(templateSummary(summaryFacts(record, 0))).toContain(`Cost ${marked}`);

    const metric = await h.metrics.registry.getSingleMetricAsString('orchestrator_llm_cost_estimated_usd');
    const metricSum = sumUsd([...metric.matchAll(/^orchestrator_llm_cost_estimated_usd\{[^}]*\} (\S+)$/gm)].map((m) => Number(m[1])));
    expect(metricSum).toBeCloseTo(estimated, 12);
    await h.runtime.close();
  });

  it('logs every routing decision with its model, source and reason', async () => {
    const script: ScriptInput = { defaults: approveAll, tasks: { G1: { planner: [{ respond: plan('G1') }] } } };
    const base = createScriptedRunner({ script });
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(line) } });
    const h = setup({
      runners: new Map<string, AgentRunner>([
        ['gemini-cli', priced(base, 'gemini-cli')],
        ['claude-code', priced(base, 'claude-code')],
      ]),
      logger,
    });
    expect((await (await h.runtime.submit(task('G1'))).outcome).state).toBe('DONE');
    const routed = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => String(l['msg']).startsWith('routed the '));
    expect(routed.map((l) => l['msg'])).toEqual([
      'routed the planner to pro (matrix)',
      'routed the plan-reviewer to sonnet (matrix)',
      'routed the implementer to pro (matrix)',
      'routed the code-reviewer to sonnet (matrix)',
    ]);
    expect(routed[0]).toMatchObject({
      task: 'G1',
      step: null,
      role: 'planner',
      model: 'gemini-2.5-pro',
      model_name: 'pro',
      source: 'matrix',
      risk: 'medium',
      area: 'api',
    });
    expect(String(routed[0]?.['reason'])).toMatch(/^complexity .*; matrix planner\.medium\.api → pro; .*estimated \$0\.\d+$/);
    expect(routed[2]).toMatchObject({ step: 'S1', role: 'implementer' });
    expect(String(routed[3]?.['reason'])).toContain('diversity (provider): the author is google/gemini-2.5-pro, the reviewer anthropic/claude-sonnet-4-5');
    await h.runtime.close();
  });
});

describe('rate limits, failures and fallbacks in a run', () => {
  it('a rate-limited model hands the call down its fallback chain instead of pausing', async () => {
    const script = (limited: boolean): ScriptInput => ({
      defaults: approveAll,
      tasks: {
        R1: {
          planner: [{ respond: plan('R1') }],
          steps: { S1: { implementer: [{ ...(limited ? { rate_limited_until: Date.UTC(2025, 2, 11) } : {}), respond: { explanation: 'ok' } }] } },
        },
      },
    });
    const clock = manualClock(Date.UTC(2025, 2, 10));
    const limited = createScriptedRunner({ script: script(true), clock });
    const fine = createScriptedRunner({ script: script(false), clock });
    const runners = new Map<string, AgentRunner>([
      ['gemini-cli', priced(limited, 'gemini-cli')],
      ['claude-code', priced(fine, 'claude-code')],
      ['codex-cli', priced(fine, 'codex-cli')],
    ]);
    const h = setup({ runners, clock });
    const outcome = await (await h.runtime.submit(task('R1'))).outcome;
    expect(outcome.state).toBe('DONE');
    expect(h.started()).toEqual([
      'planner:pro:matrix',
      'plan-reviewer:sonnet:matrix',
      'implementer:pro:matrix',
      'implementer:flash:fallback',
      'implementer:haiku:fallback',
      'code-reviewer:codex:fallback',
    ]);
    expect(h.events.some((e) => e.type === 'task.state' && e.state === 'PAUSED')).toBe(false);
    // The limit is remembered for every task of the process until its reset.
    expect(h.routing.breaker.availability('pro')).toEqual({ ok: false, until: Date.UTC(2025, 2, 11), reason: 'rate limited until 2025-03-11T00:00:00.000Z' });
    await h.runtime.close();
  });

  it('retries a transient failure with exponential backoff and jitter on the injected clock, then falls back without more retries', async () => {
    const script = (failing: boolean): ScriptInput => ({
      defaults: approveAll,
      tasks: {
        F1: { planner: [{ respond: plan('F1') }], steps: { S1: { implementer: [failing ? { fail: 'overloaded' } : { respond: { explanation: 'ok' } }] } } },
      },
    });
    const failing = createScriptedRunner({ script: script(true) });
    const fine = createScriptedRunner({ script: script(false) });
    const runners = new Map<string, AgentRunner>([
      ['gemini-cli', priced(failing, 'gemini-cli')],
      ['claude-code', priced(fine, 'claude-code')],
      ['codex-cli', priced(fine, 'codex-cli')],
    ]);
    const clock = manualClock(Date.UTC(2025, 2, 10));
    const h = setup({ runners, clock, config: { limits: { retry_base_delay_ms: 1_000, max_transient_retries: 2 } } });
    const handle = await h.runtime.submit(task('F1'));
    await until(() => clock.pending() > 0 && clock.sleeps.includes(750), 'the first backoff');
    clock.advance(750);
    await until(() => clock.sleeps.includes(1_500), 'the second backoff');
    clock.advance(1_500);
    expect((await handle.outcome).state).toBe('DONE');
    // random() = 0.5: half the cap plus half of the other half (1,000 ms, then 2,000 ms caps).
    expect(clock.sleeps.filter((ms) => ms === 750 || ms === 1_500)).toEqual([750, 1_500]);
    expect(
      failing
        .calls()
        .filter((c) => c.role === 'implementer')
        .map((c) => `${c.model.model}#${c.try}`),
    ).toEqual(['gemini-2.5-pro#0', 'gemini-2.5-pro#1', 'gemini-2.5-pro#2', 'gemini-2.5-flash#0']);
    expect(h.started().filter((s) => s.startsWith('implementer'))).toEqual([
      'implementer:pro:matrix',
      'implementer:flash:fallback',
      'implementer:haiku:fallback',
    ]);
    const entries = await readLedger(h.store);
    expect(entries.filter((e) => e.role === 'implementer').map((e) => `${e.model_name ?? ''}:${e.outcome}`)).toEqual([
      'pro:overloaded',
      'pro:overloaded',
      'pro:overloaded',
      'flash:overloaded',
      'haiku:ok',
    ]);
    await h.runtime.close();
  });

  it('pauses when no fallback is configured, and a paused task resumes by itself after a restart', async () => {
    const store = createMemoryStore();
    const clock = manualClock(Date.UTC(2025, 2, 10));
    const resetAt = Date.UTC(2025, 2, 10, 1);
    const script: ScriptInput = {
      defaults: approveAll,
      tasks: { P1: { planner: [{ respond: plan('P1') }], steps: { S1: { implementer: [{ rate_limited_until: resetAt, respond: { explanation: 'ok' } }] } } } },
    };
    const first = setup({ config: { runner_override: 'scripted' }, runners: new Map([['scripted', createScriptedRunner({ script, clock })]]), store, clock });
    await first.runtime.submit(task('P1'));
    await until(async () => (await first.runtime.get('P1'))?.state === 'PAUSED', 'the pause');
    expect((await first.runtime.get('P1'))?.pausedUntil).toBe(resetAt);
    await first.runtime.close();

    const runner = createScriptedRunner({ script, clock });
    const second = setup({ config: { runner_override: 'scripted' }, runners: new Map([['scripted', runner]]), store, clock });
    const [resumed] = await second.runtime.resume();
    await until(() => clock.pending() > 0, 'the resumed wait');
    expect(runner.calls()).toEqual([]);
    clock.advance(resetAt - clock.now());
    expect((await resumed?.outcome)?.state).toBe('DONE');
    expect(runner.calls().map((c) => `${c.role}#${c.attempt}`)).toEqual(['implementer#1', 'code-reviewer#1']);
    await second.runtime.close();
  });
});

describe('rate-limit pauses in a run', () => {
  it('grows the pause while a rate limit without a reset time keeps coming back (30 s, 1, 2 … 5 min), and uses a wait the backend names', async () => {
    const clock = manualClock(Date.UTC(2025, 2, 10));
    const scripted = createScriptedRunner({ script: { defaults: approveAll, tasks: { L1: { planner: [{ respond: plan('L1') }] } } }, clock });
    // The implementer's model answers with these rate limits (a named retry-after, or none) before it answers.
    const limits: (number | undefined)[] = [undefined, undefined, undefined, 45_000, undefined];
    const limited: AgentRunner = {
      name: 'scripted',
      run(request, options) {
        if (request.role === 'implementer' && limits.length > 0) {
          const retryAfter = limits.shift();
          return Promise.resolve({
            provider: request.model.provider,
            model: request.model.model,
            role: request.role,
            response: '',
            tokens_input: 0,
            tokens_output: 0,
            tokens_estimated: false,
            cost_usd: 0,
            latency_ms: 1,
            success: false,
            error: '429 Too Many Requests',
            error_kind: 'rate_limit',
            ...(retryAfter === undefined ? {} : { retry_after_ms: retryAfter }),
            runner: 'scripted',
          });
        }
        return scripted.run(request, options);
      },
    };
    const h = setup({ config: { runner_override: 'scripted' }, runners: new Map([['scripted', limited]]), clock });
    const handle = await h.runtime.submit(task('L1'));
    const pauses: number[] = [];
    let last: number | undefined;
    for (let i = 0; i < 5; i++) {
      await until(
        async () => {
          const record = await h.runtime.get('L1');
          return record?.state === 'PAUSED' && record.pausedUntil !== last && clock.pending() > 0;
        },
        `pause ${i + 1}`,
      );
      last = (await h.runtime.get('L1'))?.pausedUntil;
      const wait = (last ?? 0) - clock.now();
      pauses.push(wait);
      clock.advance(wait);
    }
    expect((await handle.outcome).state).toBe('DONE');
    // The fourth limit named its wait; the streak still counts it, so the fifth waits the step after
    // (30 s × 2^4), capped at 5 minutes.
    expect(pauses).toEqual([30_000, 60_000, 120_000, 45_000, 300_000]);
    await h.runtime.close();
  });
});

describe('per-model concurrency in a run', () => {
  it('counts a call in flight against the daily budget, so a parallel task cannot spend the same dollars', async () => {
    const base = createScriptedRunner({ script: { defaults: { ...approveAll, planner: [{ respond: plan('X') }] } } });
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const started: string[] = [];
    const held: AgentRunner = {
      name: 'gemini-cli',
      async run(request, options) {
        started.push(`${request.taskId}:${request.role}`);
        if (request.role === 'planner') await gate;
        return priced(base, 'gemini-cli').run(request, options);
      },
    };
    // About $0.02 is estimated for a planner call on pro: one fits in $0.03, two do not.
    const h = setup({
      config: { concurrency: 2, budgets: { day_usd: 0.03, on_exceed: 'ask' } },
      runners: new Map([
        ['gemini-cli', held],
        ['claude-code', priced(base, 'claude-code')],
      ]),
    });
    const first = await h.runtime.submit(task('P1'));
    await until(() => started.includes('P1:planner'), 'P1 to call its planner');
    const second = await h.runtime.submit(task('P2'));
    const waiting = await second.outcome;
    expect(waiting.state).toBe('AWAITING_HUMAN_REVIEW');
    expect((await h.runtime.get('P2'))?.waiting).toMatchObject({ kind: 'budget' });
    expect(waiting.reason).toMatch(/^the daily budget of \$0\.03 would be exceeded: \$0\.0\d+ spent \+/);
    expect(started).toEqual(['P1:planner']);
    open();
    await first.outcome;
    // Once P1's call ended, only its real cost counts: no reservation is left behind.
    const entries = await readLedger(h.store);
    expect(h.routing.ledger.spend('P1').day).toBe(sumUsd(entries.map((e) => e.usd)));
    await h.runtime.close();
  });

  it('never has more calls in flight on a model than its limit, across tasks', async () => {
    const base = createScriptedRunner({ script: { defaults: { ...approveAll, planner: [{ respond: plan('X') }] } } });
    let inFlight = 0;
    let most = 0;
    const slow: AgentRunner = {
      name: 'scripted',
      async run(request, options) {
        const counted = request.role === 'planner';
        if (counted) most = Math.max(most, ++inFlight);
        await new Promise((r) => setTimeout(r, 15));
        if (counted) inFlight--;
        return base.run(request, options);
      },
    };
    const h = setup({
      config: {
        runner_override: 'scripted',
        concurrency: 4,
        models: {
          flash: {
            provider: 'google',
            model: 'gemini-2.5-flash',
            runner: 'gemini-cli',
            price: { input: 0.3, output: 2.5 },
            context_tokens: 1_000_000,
            concurrency: 1,
            fallback: 'haiku',
          },
        },
      },
      runners: new Map([['scripted', slow]]),
    });
    const handles = await Promise.all(['L1', 'L2', 'L3'].map((id) => h.runtime.submit(task(id, { risk: 'low' }))));
    const outcomes = await Promise.all(handles.map((x) => x.outcome));
    expect(outcomes.map((o) => o.state)).toEqual(['DONE', 'DONE', 'DONE']);
    expect(h.started().filter((s) => s.startsWith('planner'))).toEqual(['planner:flash:matrix', 'planner:flash:matrix', 'planner:flash:matrix']);
    expect(most).toBe(1);
    await h.runtime.close();
  });
});

describe('runner checks at start', () => {
  it('refuses a runtime whose runners cannot serve some role, naming the field', () => {
    const config = ConfigSchema.parse({});
    expect(() =>
      createRuntime({
        config,
        runners: new Map([['ollama', createScriptedRunner({ script: {} })]]),
        store: createMemoryStore(),
        bus: createMemoryBus(),
        gate: passingGate(),
        workspace: fakeWorkspace(),
      }),
    ).toThrow('config: routing.matrix.planner: none of its models has a runner here (they need claude-code, gemini-cli; available: ollama)');
    const pinned = ConfigSchema.parse({ roles: { planner: { provider: 'a', model: 'b', runner: 'nope' } }, runner_override: undefined });
    expect(() =>
      createRuntime({
        config: pinned,
        runners: new Map([
          ['gemini-cli', createScriptedRunner({ script: {} })],
          ['claude-code', createScriptedRunner({ script: {} })],
        ]),
        store: createMemoryStore(),
        bus: createMemoryBus(),
        gate: passingGate(),
        workspace: fakeWorkspace(),
      }),
    ).toThrow('config: roles.planner.runner: no runner named "nope" (available: gemini-cli, claude-code)');
  });
});
