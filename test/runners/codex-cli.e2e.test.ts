import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ModelRef } from '../../src/model/execution.js';
import { createCodexCliRunner, isStrictSchema, toStrictSchema } from '../../src/runners/codex-cli.js';
import { withoutMetaSchema } from '../../src/runners/prompt-input.js';
import { parseStructured } from '../../src/roles/parse-output.js';
import { jsonSchemaOf } from '../../src/roles/prompts/common.js';
import { PlanReviewSchema } from '../../src/model/role-outputs.js';
import type { CodexCliSettings } from '../../src/runners/runner-settings.js';
import { cliBin } from '../helpers/fake-model/e2e-kit.js';
import { describeRunnerConformance, useCliE2eHarness } from '../helpers/runner-conformance.js';

const model: ModelRef = { provider: 'openai', model: 'gpt-5-codex', runner: 'codex-cli' };
// A model in codex's own catalog gets the apply_patch tool; others edit through shell commands.
const patchModel: ModelRef = { provider: 'openai', model: 'gpt-5.5', runner: 'codex-cli' };

const h = useCliE2eHarness<CodexCliSettings>({
  cli: 'codex',
  runner: 'codex-cli',
  provider: 'openai',
  model,
  create: (server, overrides, options) =>
    createCodexCliRunner(
      {
        command: cliBin.codex,
        config_home: 'isolated',
        base_url: `${server.url}/v1`,
        env_key: 'FAKE_OPENAI_API_KEY',
        max_retries: 0,
        env: { FAKE_OPENAI_API_KEY: 'sk-fake-openai' },
        ...overrides,
      },
      options,
    ),
});

describeRunnerConformance(h, {
  plain: {
    // gpt-5-codex: $1.25 in, $10 out per million tokens.
    cost: { source: 'price_table', usd: (100 * 1.25 + 20 * 10) / 1_000_000 },
    promptField: 'input',
    authHeader: ['authorization', 'Bearer sk-fake-openai'],
    checkRequest: (sent) => {
      expect((sent.body as { model: string }).model).toBe('gpt-5-codex');
      // A read-only role runs in codex's read-only sandbox.
      expect(sent.headers['x-codex-turn-metadata']).toContain('read-only');
    },
  },
  // The schema goes through --output-schema, as the Responses API's strict json_schema format.
  checkStructuredRequest: (body, schema) => {
    const first = body as { text: { format: { type: string; strict: boolean; schema: unknown } } };
    expect(first.text.format).toMatchObject({ type: 'json_schema', strict: true, schema });
  },
  // Codex rejects a patch outside the project itself (it never reaches the stream); the model was told
  // and may claim success anyway. Only a catalog model edits through apply_patch.
  writeOutside: { model: patchModel, error: () => 'tried to write outside the worktree (patch rejected: writing outside of the project' },
  loopError: /same tool call .*cat .*same\.txt.* returned the same result 3 times/,
  // Codex has no turn limit of its own: the runner stops the call.
  turnLimitError: 'more than 1 tool calls (the turn limit)',
  httpErrors: [
    // Codex CLI does not pass the retry-after of a 429 on.
    { status: 429, kind: 'rate_limit', name: 'err-429', requests: 1, http: 429, retryAfterMs: undefined },
    // Codex words a 500 as "high demand" and leaves out the status.
    { status: 500, kind: 'overloaded', name: 'err-500', requests: 1, http: undefined, retryAfterMs: undefined },
    { status: 503, kind: 'overloaded', name: 'err-503', requests: 1, http: 503, retryAfterMs: undefined },
    { status: 400, kind: 'crashed', name: 'err-400', requests: 1, http: undefined, retryAfterMs: undefined },
    { status: 401, kind: 'auth', name: 'err-401', requests: 1, http: 401, retryAfterMs: undefined },
  ],
  timeoutMs: 2_500,
  abortAfterMs: 1_000,
  stall: {
    marker: '"type":"turn.started"',
    events: [{ type: 'thread.started' }, { type: 'item.completed' }, { type: 'turn.started' }],
    // Codex's own events (and its warning item) are no answer of the model: nothing is estimated.
    tokens: { tokens_input: 0, tokens_output: 0, tokens_estimated: false },
  },
  version: { tested: '0.169.0', line: (version) => `codex-cli ${version}` },
});

describe('codex-cli runner: what only Codex CLI does', () => {
  it('sends a role schema made strict (optional fields nullable), and the null-filled answer parses with the role schema', async () => {
    const answer = {
      status: 'needs_revision',
      review: { completeness: 6, feasibility: null, risk_assessment: null, missing_steps: ['a test step'], concerns: [], suggestions: [] },
      revised_plan: null,
    };
    h.server.use({ kind: 'json', value: answer });
    const roleSchema = jsonSchemaOf(PlanReviewSchema);
    const result = await h.runner().run(h.request({ role: 'plan-reviewer', outputSchema: roleSchema }), { signal: h.signal() });
    expect(result.success, result.error).toBe(true);
    const first = h.server.requests('openai')[0]?.body as { text: { format: { type: string; strict: boolean; schema: unknown } } };
    expect(first.text.format).toMatchObject({ type: 'json_schema', strict: true });
    expect(isStrictSchema(first.text.format.schema)).toBe(true);
    expect(first.text.format.schema).toEqual(toStrictSchema(withoutMetaSchema(roleSchema)));
    expect(parseStructured(result.response, PlanReviewSchema)).toEqual({
      ok: true,
      value: { status: 'needs_revision', review: { completeness: 6, missing_steps: ['a test step'], concerns: [], suggestions: [] } },
    });
  });

  it('leaves the schema to the prompt with output_schema: never (zod validates the answer instead)', async () => {
    h.server.use({ kind: 'json', value: { ok: true } });
    const loose = { type: 'object', properties: { ok: { type: 'boolean' }, note: { type: 'string' } }, required: ['ok'] };
    const result = await h.runner({ output_schema: 'never' }).run(h.request({ role: 'plan-reviewer', outputSchema: loose }), { signal: h.signal() });
    expect(result.success).toBe(true);
    const first = h.server.requests('openai')[0]?.body as { text?: { format?: unknown } };
    expect(first.text?.format).toBeUndefined();
  });

  it('reports a missing API key variable as auth, not as a crash', async () => {
    h.server.use({ kind: 'text', text: 'never sent' });
    const result = await h.runner({ env_key: 'TANDEM_TEST_NO_SUCH_KEY', env: {} }).run(h.request({ role: 'planner' }), { signal: h.signal() });
    h.recorder.save('missing-key', h.lastEnd);
    expect(result).toMatchObject({ success: false, error_kind: 'auth' });
    expect(result.error).toContain('Missing environment variable: `TANDEM_TEST_NO_SUCH_KEY`');
    expect(h.server.requests('openai')).toHaveLength(0);
  });

  it('edits through apply_patch with a catalog model, reported as a file_change', async () => {
    h.server.use({ kind: 'write', path: 'patched.txt', content: 'patched\n' });
    const result = await h.runner().run(h.request({ role: 'implementer', model: patchModel }), { signal: h.signal() });
    h.recorder.save('write-apply-patch', h.lastEnd);
    expect(result).toMatchObject({ success: true, response: 'DONE: wrote patched.txt' });
    expect(readFileSync(path.join(h.worktree.dir, 'patched.txt'), 'utf8')).toBe('patched\n');
    const tools = (h.server.requests('openai')[0]?.body as { tools: { name?: string }[] }).tools.map((t) => t.name);
    expect(tools).toContain('apply_patch');
  });

  it('flags a patch outside the worktree as permission_denied when the sandbox is switched off', async () => {
    const outside = path.join(path.dirname(h.worktree.dir), `${path.basename(h.worktree.dir)}-outside-dfa.txt`);
    h.server.use({ kind: 'write', path: outside, content: 'escaped\n' });
    try {
      const result = await h.runner({ sandbox: 'danger-full-access' }).run(h.request({ role: 'implementer', model: patchModel }), { signal: h.signal() });
      h.recorder.save('write-outside-danger', h.lastEnd);
      expect(result.error_kind).toBe('permission_denied');
      expect(result.error).toContain(`apply_patch tried to write outside the worktree: ${outside}`);
    } finally {
      await rm(outside, { force: true });
    }
  });

  it('keeps a shell command of the implementer from writing beside the worktree (sandbox without /tmp)', async () => {
    const outside = path.join(path.dirname(h.worktree.dir), `${path.basename(h.worktree.dir)}-shell-outside.txt`);
    h.server.use({ kind: 'write', path: outside, content: 'escaped\n' });
    const result = await h.runner().run(h.request({ role: 'implementer' }), { signal: h.signal() });
    h.recorder.save('write-outside-shell', h.lastEnd);
    expect(existsSync(outside)).toBe(false);
    expect(result.response).toMatch(/^FAILED: [\s\S]*Read-only file system/);
  });
});
