import { describe, expect, it } from 'vitest';
import { schemaParser } from '../../src/roles/parse-output.js';
import type { AgentRunner } from '../../src/runners/agent-runner.js';
import type { ExecutionResult, RunRequest } from '../../src/model/execution.js';
import { CodeReviewSchema } from '../../src/model/role-outputs.js';
import { callRole } from '../../src/roles/pipeline/run-with-retry.js';
import { backoffDelay } from '../../src/roles/retry-policies.js';
import { manualClock } from '../helpers/manual-clock.js';

const model = { provider: 'p', model: 'm', runner: 'fake' };
const request: Omit<RunRequest, 'try'> = {
  role: 'code-reviewer',
  taskId: 'T1',
  stepId: 'S1',
  attempt: 1,
  prompt: 'review this',
  cwd: '/tmp',
  model,
  allowEdits: false,
  timeoutMs: 1_000,
};
const limits = { max_output_repairs: 2, max_transient_retries: 2, retry_base_delay_ms: 1_000 };

function result(overrides: Partial<ExecutionResult>): ExecutionResult {
  return {
    provider: 'p',
    model: 'm',
    role: 'code-reviewer',
    response: '',
    tokens_input: 10,
    tokens_output: 5,
    tokens_estimated: false,
    cost_usd: 0.01,
    latency_ms: 3,
    success: true,
    runner: 'fake',
    ...overrides,
  };
}

/** A runner that answers each try from a list and records the requests. */
function fakeRunner(answers: ExecutionResult[]): AgentRunner & { requests: RunRequest[] } {
  const requests: RunRequest[] = [];
  return {
    name: 'fake',
    requests,
    run: (req) => {
      requests.push(req);
      const answer = answers[req.try];
      if (!answer) throw new Error(`no answer for try ${req.try}`);
      return Promise.resolve(answer);
    },
  };
}

const approved = JSON.stringify({ status: 'approved' });

describe('callRole', () => {
  it('feeds invalid output back with the validation error, then accepts a valid answer', async () => {
    const runner = fakeRunner([result({ response: 'Sure! Looks good.' }), result({ response: '{"status":"maybe"}' }), result({ response: approved })]);
    const outcome = await callRole({
      runner,
      request,
      parse: schemaParser(CodeReviewSchema),
      clock: manualClock(),
      limits,
      signal: new AbortController().signal,
    });
    expect(outcome.ok).toBe(true);
    expect(outcome.tries).toBe(3);
    expect(runner.requests.map((r) => r.try)).toEqual([0, 1, 2]);
    expect(runner.requests[1]?.prompt).toContain('## Your previous answer was rejected\nthe answer is not valid JSON');
    expect(runner.requests[2]?.prompt).toContain('the JSON does not match the required schema: status:');
    expect(runner.requests[2]?.prompt.startsWith('review this')).toBe(true);
  });

  it('counts output that stays invalid as bad_output after the repairs run out', async () => {
    const runner = fakeRunner([result({ response: 'no' }), result({ response: 'no' }), result({ response: 'no' })]);
    const outcome = await callRole({
      runner,
      request,
      parse: schemaParser(CodeReviewSchema),
      clock: manualClock(),
      limits,
      signal: new AbortController().signal,
    });
    expect(outcome).toMatchObject({ ok: false, kind: 'bad_output', tries: 3 });
  });

  it('retries transient errors with exponential backoff on the injected clock', async () => {
    const clock = manualClock();
    const runner = fakeRunner([
      result({ success: false, error_kind: 'overloaded' }),
      result({ success: false, error_kind: 'timeout' }),
      result({ response: approved }),
    ]);
    const pending = callRole({ runner, request, parse: schemaParser(CodeReviewSchema), clock, limits, signal: new AbortController().signal, random: () => 1 });
    for (let i = 0; i < 50 && runner.requests.length < 3; i++) {
      await new Promise((r) => setImmediate(r));
      clock.advance(1_000);
    }
    const outcome = await pending;
    expect(outcome.ok).toBe(true);
    expect(clock.sleeps).toEqual([1_000, 2_000]);
  });

  it.each(['unavailable', 'auth', 'permission_denied', 'no_progress'] as const)('does not retry %s, which no retry can cure', async (kind) => {
    const runner = fakeRunner([result({ success: false, error_kind: kind, error: `${kind}!` }), result({ response: approved })]);
    const outcome = await callRole({
      runner,
      request,
      parse: schemaParser(CodeReviewSchema),
      clock: manualClock(),
      limits,
      signal: new AbortController().signal,
    });
    expect(outcome).toMatchObject({ ok: false, kind, tries: 1 });
    expect(runner.requests).toHaveLength(1);
  });

  it('asks before every paid repair or retry, and stops as `budget` when one would exceed a budget', async () => {
    const runner = fakeRunner([result({ response: 'not json' }), result({ response: 'still not json' }), result({ response: approved })]);
    const asked: string[] = [];
    const beforeRetry = (prompt: string) => {
      asked.push(prompt);
      return asked.length === 2 ? 'the task budget of $0.02 would be exceeded' : undefined;
    };
    const outcome = await callRole({
      runner,
      request,
      parse: schemaParser(CodeReviewSchema),
      clock: manualClock(),
      limits,
      signal: new AbortController().signal,
      beforeRetry,
    });
    expect(outcome).toMatchObject({ ok: false, kind: 'budget', error: 'the task budget of $0.02 would be exceeded', tries: 2 });
    expect(runner.requests).toHaveLength(2);
    // The first try is the router's to allow; only the repairs are asked about.
    expect(asked).toHaveLength(2);
    expect(asked[0]).toContain('## Your previous answer was rejected');
  });

  it('returns a rate limit at once, with its retry-after, without retrying', async () => {
    const runner = fakeRunner([result({ success: false, error_kind: 'rate_limit', retry_after_ms: 30_000, error: '429' })]);
    const outcome = await callRole({
      runner,
      request,
      parse: schemaParser(CodeReviewSchema),
      clock: manualClock(),
      limits,
      signal: new AbortController().signal,
    });
    expect(outcome).toMatchObject({ ok: false, kind: 'rate_limit', retryAfterMs: 30_000, tries: 1 });
  });

  it('gives up on transient errors after max_transient_retries and reports the last error', async () => {
    const clock = manualClock();
    const crash = result({ success: false, error_kind: 'crashed', error: 'exit 1' });
    const runner = fakeRunner([crash, crash, crash]);
    const pending = callRole({ runner, request, parse: schemaParser(CodeReviewSchema), clock, limits, signal: new AbortController().signal, random: () => 0 });
    for (let i = 0; i < 50 && clock.pending() + runner.requests.length < 4; i++) {
      await new Promise((r) => setImmediate(r));
      clock.advance(10_000);
    }
    expect(await pending).toMatchObject({ ok: false, kind: 'crashed', error: 'exit 1', tries: 3 });
  });

  it('stops when its signal aborts during a backoff', async () => {
    const controller = new AbortController();
    const runner = fakeRunner([result({ success: false, error_kind: 'timeout' })]);
    const pending = callRole({ runner, request, parse: schemaParser(CodeReviewSchema), clock: manualClock(), limits, signal: controller.signal });
    await new Promise((r) => setImmediate(r));
    controller.abort();
    expect(await pending).toMatchObject({ ok: false, kind: 'cancelled', tries: 1 });
  });

  it('reports each runner result to onResult (the cost ledger)', async () => {
    const seen: number[] = [];
    const runner = fakeRunner([result({ response: 'x', cost_usd: 0.5 }), result({ response: approved, cost_usd: 0.25 })]);
    await callRole({
      runner,
      request,
      parse: schemaParser(CodeReviewSchema),
      clock: manualClock(),
      limits,
      signal: new AbortController().signal,
      onResult: (r) => seen.push(r.cost_usd),
    });
    expect(seen).toEqual([0.5, 0.25]);
  });
});

describe('backoffDelay', () => {
  it('doubles per retry, with jitter in the upper half, capped at 2^10', () => {
    expect([0, 1, 2, 3].map((r) => backoffDelay(r, 100, () => 0))).toEqual([50, 100, 200, 400]);
    expect([0, 1, 2, 3].map((r) => backoffDelay(r, 100, () => 1))).toEqual([100, 200, 400, 800]);
    expect(backoffDelay(40, 1, () => 1)).toBe(1024);
  });
});
