import { describe, expect, it } from 'vitest';
import { jsonSchemaOf } from '../../src/roles/prompts/common.js';
import type { ModelRef } from '../../src/model/execution.js';
import { PlanReviewSchema } from '../../src/model/role-outputs.js';
import { createClaudeCodeRunner } from '../../src/runners/claude-code.js';
import type { ClaudeCodeSettings } from '../../src/runners/runner-settings.js';
import { cliBin } from '../helpers/fake-model/e2e-kit.js';
import { describeRunnerConformance, useCliE2eHarness } from '../helpers/runner-conformance.js';

const model: ModelRef = { provider: 'anthropic', model: 'claude-sonnet-4-5', runner: 'claude-code' };

const h = useCliE2eHarness<ClaudeCodeSettings>({
  cli: 'claude',
  runner: 'claude-code',
  provider: 'anthropic',
  model,
  create: (server, overrides, options) =>
    createClaudeCodeRunner(
      { command: cliBin.claude, config_home: 'isolated', base_url: server.url, max_retries: 0, env: { ANTHROPIC_API_KEY: 'sk-fake' }, ...overrides },
      options,
    ),
});

describeRunnerConformance(h, {
  plain: {
    // Claude Code reports its own cost.
    cost: { source: 'reported' },
    promptField: 'messages',
    authHeader: ['x-api-key', 'sk-fake'],
    checkRequest: (sent) => {
      const body = sent.body as { model: string; tools: { name: string }[] };
      expect(body.model).toBe('claude-sonnet-4-5');
      // A read-only role is offered only the read tools.
      expect(body.tools.map((t) => t.name).sort()).toEqual(['Glob', 'Grep', 'Read']);
    },
  },
  // The schema goes through --json-schema, which Claude Code offers the model as a StructuredOutput tool.
  checkStructuredRequest: (body, schema) => {
    const first = body as { tools: { name: string; input_schema: unknown }[] };
    expect(first.tools.find((t) => t.name === 'StructuredOutput')?.input_schema).toMatchObject(schema);
  },
  writeOutside: { error: (outside) => outside },
  loopError: /same tool call .*Read.* returned the same result 3 times/,
  turnLimitError: 'Reached maximum number of turns (1)',
  httpErrors: [
    // Claude Code does not pass the retry-after of a 429 on.
    { status: 429, kind: 'rate_limit', name: 'err-429', requests: 1, http: 429, retryAfterMs: undefined },
    { status: 500, kind: 'crashed', name: 'err-500', requests: 1, http: 500, retryAfterMs: undefined },
    { status: 529, kind: 'overloaded', name: 'err-529', requests: 1, http: 529, retryAfterMs: undefined },
    // On a 400 the CLI tries again twice, each time without one more beta feature.
    { status: 400, kind: 'crashed', name: 'err-400', requests: 3, http: 400, retryAfterMs: undefined },
    { status: 401, kind: 'auth', name: 'err-401', requests: 1, http: 401, retryAfterMs: undefined },
  ],
  timeoutMs: 2_500,
  abortAfterMs: 1_000,
  // Claude prints only its own init before the stall: the model's partial answer never reached the stream.
  stall: { marker: '"subtype":"init"', events: [{ type: 'system', subtype: 'init' }], tokens: { tokens_input: 0, tokens_output: 0, tokens_estimated: false } },
  version: { tested: '2.1.330', line: (version) => `${version} (Claude Code)` },
});

describe('claude-code runner: what only Claude Code does', () => {
  it('accepts the draft 2020-12 schemas zod writes (without their $schema key)', async () => {
    h.server.use({ kind: 'json', value: { status: 'approved' } });
    const result = await h.runner().run(h.request({ role: 'plan-reviewer', outputSchema: jsonSchemaOf(PlanReviewSchema) }), { signal: h.signal() });
    expect(result).toMatchObject({ success: true, response: '{"status":"approved"}' });
  });

  it('passes on the reset time of a usage limit Claude Code prints, as the wait of the rate limit', async () => {
    const resetAt = Math.floor(Date.now() / 1_000) + 600;
    h.server.use({ kind: 'error', status: 429, message: `Claude AI usage limit reached|${resetAt}` });
    const before = Date.now();
    const result = await h.runner().run(h.request({ role: 'planner' }), { signal: h.signal() });
    const after = Date.now();
    expect(result).toMatchObject({ success: false, error_kind: 'rate_limit', tokens_input: 0, cost_usd: 0 });
    // The wait runs to the reset, measured from when the CLI ended.
    expect(result.retry_after_ms).toBeGreaterThanOrEqual(resetAt * 1_000 - after);
    expect(result.retry_after_ms).toBeLessThanOrEqual(resetAt * 1_000 - before);
  });
});
