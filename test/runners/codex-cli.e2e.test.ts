import { existsSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ModelRef, RunRequest } from '../../src/model/execution.js';
import { createCodexCliRunner, isStrictSchema, toStrictSchema } from '../../src/runners/codex-cli.js';
import { withoutMetaSchema } from '../../src/runners/prompt-input.js';
import { parseStructured } from '../../src/roles/parse-output.js';
import { jsonSchemaOf } from '../../src/roles/prompts/common.js';
import { PlanReviewSchema } from '../../src/model/role-outputs.js';
import type { ProcessEnd } from '../../src/runners/cli-runner.js';
import type { CodexCliSettings } from '../../src/runners/runner-settings.js';
import { cliBin, fakeCli, fixtureRecorder, processesLeftIn, runRequest, tempWorktree } from '../helpers/fake-model/e2e-kit.js';
import { startFakeModelServer, type FakeModelServer } from '../helpers/fake-model-server.js';

const model: ModelRef = { provider: 'openai', model: 'gpt-5-codex', runner: 'codex-cli' };
// A model in codex's own catalog gets the apply_patch tool; others edit through shell commands.
const patchModel: ModelRef = { provider: 'openai', model: 'gpt-5.5', runner: 'codex-cli' };
const schema = { type: 'object', properties: { ok: { type: 'boolean' }, answer: { type: 'number' } }, required: ['ok', 'answer'], additionalProperties: false };

let server: FakeModelServer;
let worktree: { dir: string; cleanup: () => Promise<void> };
let lastEnd: ProcessEnd | undefined;
const recorder = fixtureRecorder('codex', () => [
  [worktree.dir, '<worktree>'],
  [`127.0.0.1:${server.port}`, '127.0.0.1:<port>'],
]);

function runner(overrides: Partial<CodexCliSettings> = {}) {
  return createCodexCliRunner(
    {
      command: cliBin.codex,
      config_home: 'isolated',
      base_url: `${server.url}/v1`,
      env_key: 'FAKE_OPENAI_API_KEY',
      max_retries: 0,
      env: { FAKE_OPENAI_API_KEY: 'sk-fake-openai' },
      ...overrides,
    },
    { onProcessEnd: (end) => (lastEnd = end) },
  );
}

function request(fields: Partial<RunRequest> & Pick<RunRequest, 'role'>): RunRequest {
  return { ...runRequest({ role: fields.role, model, cwd: worktree.dir }), ...fields };
}

const signal = (): AbortSignal => new AbortController().signal;

beforeAll(async () => {
  server = await startFakeModelServer();
});
afterAll(async () => {
  await server.close();
});
beforeEach(async () => {
  worktree = await tempWorktree();
  server.clearRequests();
  lastEnd = undefined;
});
afterEach(async () => {
  // No call may leave a process behind in its worktree.
  expect(await processesLeftIn(worktree.dir)).toEqual([]);
  await worktree.cleanup();
});

describe('codex-cli runner against the real codex CLI', () => {
  it('answers a read-only role with text, real tokens and a price-table cost, in the read-only sandbox', async () => {
    server.use({ kind: 'text', text: 'Hello from the fake model.' });
    const result = await runner().run(request({ role: 'planner', prompt: 'Say hello.' }), { signal: signal() });
    recorder.save('plain', lastEnd);
    expect(result).toMatchObject({ success: true, response: 'Hello from the fake model.', tokens_input: 100, tokens_output: 20, tokens_estimated: false, cost_source: 'price_table', runner: 'codex-cli' });
    // gpt-5-codex: $1.25 in, $10 out per million tokens.
    expect(result.cost_usd).toBeCloseTo((100 * 1.25 + 20 * 10) / 1_000_000, 12);
    const sent = server.requests('openai');
    expect(sent).toHaveLength(1);
    const body = sent[0]?.body as { model: string; input: unknown[] };
    expect(body.model).toBe('gpt-5-codex');
    expect(JSON.stringify(body.input)).toContain('Say hello.');
    expect(sent[0]?.headers['x-codex-turn-metadata']).toContain('read-only');
    expect(sent[0]?.headers.authorization).toBe('Bearer sk-fake-openai');
  });

  it('returns the structured answer through --output-schema', async () => {
    server.use({ kind: 'json', value: { ok: true, answer: 42 } });
    const result = await runner().run(request({ role: 'plan-reviewer', outputSchema: schema }), { signal: signal() });
    recorder.save('structured', lastEnd);
    expect(result.success).toBe(true);
    expect(JSON.parse(result.response)).toEqual({ ok: true, answer: 42 });
    const first = server.requests('openai')[0]?.body as { text: { format: { type: string; strict: boolean; schema: unknown } } };
    expect(first.text.format).toMatchObject({ type: 'json_schema', strict: true, schema });
  });

  it('sends a role schema made strict (optional fields nullable), and the null-filled answer parses with the role schema', async () => {
    const answer = { status: 'needs_revision', review: { completeness: 6, feasibility: null, risk_assessment: null, missing_steps: ['a test step'], concerns: [], suggestions: [] }, revised_plan: null };
    server.use({ kind: 'json', value: answer });
    const roleSchema = jsonSchemaOf(PlanReviewSchema);
    const result = await runner().run(request({ role: 'plan-reviewer', outputSchema: roleSchema }), { signal: signal() });
    expect(result.success, result.error).toBe(true);
    const first = server.requests('openai')[0]?.body as { text: { format: { type: string; strict: boolean; schema: unknown } } };
    expect(first.text.format).toMatchObject({ type: 'json_schema', strict: true });
    expect(isStrictSchema(first.text.format.schema)).toBe(true);
    expect(first.text.format.schema).toEqual(toStrictSchema(withoutMetaSchema(roleSchema)));
    expect(parseStructured(result.response, PlanReviewSchema)).toEqual({
      ok: true,
      value: { status: 'needs_revision', review: { completeness: 6, missing_steps: ['a test step'], concerns: [], suggestions: [] } },
    });
  });

  it('leaves the schema to the prompt with output_schema: never (zod validates the answer instead)', async () => {
    server.use({ kind: 'json', value: { ok: true } });
    const loose = { type: 'object', properties: { ok: { type: 'boolean' }, note: { type: 'string' } }, required: ['ok'] };
    const result = await runner({ output_schema: 'never' }).run(request({ role: 'plan-reviewer', outputSchema: loose }), { signal: signal() });
    expect(result.success).toBe(true);
    const first = server.requests('openai')[0]?.body as { text?: { format?: unknown } };
    expect(first.text?.format).toBeUndefined();
  });

  it('reports a missing API key variable as auth, not as a crash', async () => {
    server.use({ kind: 'text', text: 'never sent' });
    const result = await runner({ env_key: 'TANDEM_TEST_NO_SUCH_KEY', env: {} }).run(request({ role: 'planner' }), { signal: signal() });
    recorder.save('missing-key', lastEnd);
    expect(result).toMatchObject({ success: false, error_kind: 'auth' });
    expect(result.error).toContain('Missing environment variable: `TANDEM_TEST_NO_SUCH_KEY`');
    expect(server.requests('openai')).toHaveLength(0);
  });

  it('lets the implementer write a file in the worktree', async () => {
    server.use({ kind: 'write', path: 'hello.txt', content: 'hello from fake\n' });
    const result = await runner().run(request({ role: 'implementer' }), { signal: signal() });
    recorder.save('write', lastEnd);
    expect(result.latency_ms).toBeGreaterThan(0);
    // Edits are allowed by the CLI's own edit mode and sandbox, never by switching its safety off.
    expect(lastEnd?.args.join(' ')).not.toMatch(/dangerously|bypass|yolo|danger-full-access/i);
    expect(result).toMatchObject({ success: true, response: 'DONE: wrote hello.txt', tokens_input: 200, tokens_output: 40 });
    expect(readFileSync(path.join(worktree.dir, 'hello.txt'), 'utf8')).toBe('hello from fake\n');
  });

  it('keeps a read-only role from writing', async () => {
    server.use({ kind: 'write', path: 'hello.txt', content: 'nope\n' });
    const result = await runner().run(request({ role: 'code-reviewer' }), { signal: signal() });
    recorder.save('write-read-only', lastEnd);
    expect(existsSync(path.join(worktree.dir, 'hello.txt'))).toBe(false);
    expect(result.success).toBe(true);
    expect(result.response).toMatch(/^FAILED: /);
  });

  it('edits through apply_patch with a catalog model, reported as a file_change', async () => {
    server.use({ kind: 'write', path: 'patched.txt', content: 'patched\n' });
    const result = await runner().run(request({ role: 'implementer', model: patchModel }), { signal: signal() });
    recorder.save('write-apply-patch', lastEnd);
    expect(result).toMatchObject({ success: true, response: 'DONE: wrote patched.txt' });
    expect(readFileSync(path.join(worktree.dir, 'patched.txt'), 'utf8')).toBe('patched\n');
    const tools = (server.requests('openai')[0]?.body as { tools: { name?: string }[] }).tools.map((t) => t.name);
    expect(tools).toContain('apply_patch');
  });

  it('has a patch outside the worktree rejected by codex itself (it never reaches the stream)', async () => {
    const outside = path.join(path.dirname(worktree.dir), `${path.basename(worktree.dir)}-outside.txt`);
    server.use({ kind: 'write', path: outside, content: 'escaped\n' });
    const result = await runner().run(request({ role: 'implementer', model: patchModel }), { signal: signal() });
    recorder.save('write-outside', lastEnd);
    expect(existsSync(outside)).toBe(false);
    // The model was told (and may claim success anyway): the attempt itself is the violation.
    expect(result).toMatchObject({ success: false, error_kind: 'permission_denied' });
    expect(result.error).toContain('tried to write outside the worktree (patch rejected: writing outside of the project');
  });

  it('flags a patch outside the worktree as permission_denied when the sandbox is switched off', async () => {
    const outside = path.join(path.dirname(worktree.dir), `${path.basename(worktree.dir)}-outside-dfa.txt`);
    server.use({ kind: 'write', path: outside, content: 'escaped\n' });
    try {
      const result = await runner({ sandbox: 'danger-full-access' }).run(request({ role: 'implementer', model: patchModel }), { signal: signal() });
      recorder.save('write-outside-danger', lastEnd);
      expect(result.error_kind).toBe('permission_denied');
      expect(result.error).toContain(`apply_patch tried to write outside the worktree: ${outside}`);
    } finally {
      await rm(outside, { force: true });
    }
  });

  it('keeps a shell command of the implementer from writing beside the worktree (sandbox without /tmp)', async () => {
    const outside = path.join(path.dirname(worktree.dir), `${path.basename(worktree.dir)}-shell-outside.txt`);
    server.use({ kind: 'write', path: outside, content: 'escaped\n' });
    const result = await runner().run(request({ role: 'implementer' }), { signal: signal() });
    recorder.save('write-outside-shell', lastEnd);
    expect(existsSync(outside)).toBe(false);
    expect(result.response).toMatch(/^FAILED: [\s\S]*Read-only file system/);
  });

  it('stops a model repeating the same tool call as no_progress', async () => {
    await writeFile(path.join(worktree.dir, 'same.txt'), 'same\n');
    server.use({ kind: 'loop', path: 'same.txt' });
    const result = await runner().run(request({ role: 'planner' }), { signal: signal() });
    recorder.save('loop', lastEnd);
    expect(result.error_kind).toBe('no_progress');
    expect(result.error).toMatch(/same tool call .*cat .*same\.txt.* returned the same result 3 times/);
  });

  it('stops a call past the turn limit as no_progress (codex has no turn limit of its own)', async () => {
    await writeFile(path.join(worktree.dir, 'same.txt'), 'same\n');
    server.use({ kind: 'loop', path: 'same.txt' });
    const result = await runner({ max_turns: 1, repeat_limit: 10 }).run(request({ role: 'planner' }), { signal: signal() });
    recorder.save('max-turns', lastEnd);
    expect(result.error_kind).toBe('no_progress');
    expect(result.error).toContain('more than 1 tool calls (the turn limit)');
  });

  it.each([
    { status: 429, kind: 'rate_limit', name: 'err-429', requests: 1, http: 429 },
    // Codex words a 500 as "high demand" and leaves out the status.
    { status: 500, kind: 'overloaded', name: 'err-500', requests: 1, http: undefined },
    { status: 503, kind: 'overloaded', name: 'err-503', requests: 1, http: 503 },
    { status: 400, kind: 'crashed', name: 'err-400', requests: 1, http: undefined },
    { status: 401, kind: 'auth', name: 'err-401', requests: 1, http: 401 },
  ] as const)('classifies HTTP $status as $kind', async ({ status, kind, name, requests, http }) => {
    server.use({ kind: 'error', status, retryAfterSeconds: status === 429 ? 7 : undefined });
    const result = await runner().run(request({ role: 'planner' }), { signal: signal() });
    recorder.save(name, lastEnd);
    // Codex CLI does not pass the retry-after of a 429 on.
    expect(result.retry_after_ms).toBeUndefined();
    expect(result).toMatchObject({ success: false, error_kind: kind });
    expect(result.http_status).toBe(http);
    expect(server.requests('openai')).toHaveLength(requests);
  });

  it('times out a server that never answers and leaves no process', async () => {
    server.use({ kind: 'hang' });
    const started = Date.now();
    const result = await runner().run(request({ role: 'planner', timeoutMs: 2_500 }), { signal: signal() });
    recorder.save('hang', lastEnd);
    expect(result.error_kind).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('times out a stream that stalls, keeping the partial events', async () => {
    server.use({ kind: 'stall' });
    const result = await runner().run(request({ role: 'planner', timeoutMs: 2_500 }), { signal: signal() });
    recorder.save('stall', lastEnd);
    expect(result.error_kind).toBe('timeout');
    expect(lastEnd?.stdout).toContain('"type":"turn.started"');
  });

  it('is cancelled by its AbortSignal', async () => {
    server.use({ kind: 'hang' });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 1_000);
    const result = await runner().run(request({ role: 'planner' }), { signal: controller.signal });
    expect(result.error_kind).toBe('cancelled');
  });

  it('passes a prompt too long for one argument through stdin', async () => {
    server.use({ kind: 'text', text: 'long ok' });
    const prompt = `${'x'.repeat(150_000)} END-OF-LONG-PROMPT`;
    const result = await runner().run(request({ role: 'planner', prompt }), { signal: signal() });
    expect(result).toMatchObject({ success: true, response: 'long ok' });
    expect(JSON.stringify(server.requests('openai')[0]?.body)).toContain('END-OF-LONG-PROMPT');
  });

  it('reports a CLI missing from PATH', async () => {
    const result = await runner({ command: 'codex-not-installed-here' }).run(request({ role: 'planner' }), { signal: signal() });
    expect(result).toMatchObject({ success: false, error_kind: 'unavailable', tokens_input: 0 });
    expect(result.error).toContain('codex-not-installed-here');
  });

  it('refuses a version it was not tested with', async () => {
    const bin = await fakeCli(worktree.dir, 'codex', `echo 'codex-cli 9.9.9'`);
    const result = await runner({ command: bin }).run(request({ role: 'planner' }), { signal: signal() });
    expect(result.error_kind).toBe('unavailable');
    expect(result.error).toContain('version 9.9.9, which tandem was not tested with (tested: 0.169.0)');
  });

  it('classifies output that is not the JSON stream as bad_output', async () => {
    const bin = await fakeCli(worktree.dir, 'codex', `case "$1" in --version) echo 'codex-cli 0.169.0';; *) echo 'Welcome to Claude!';; esac`);
    const result = await runner({ command: bin }).run(request({ role: 'planner' }), { signal: signal() });
    expect(result.error_kind).toBe('bad_output');
    expect(result.error).toContain('Welcome to Claude!');
  });

  it('classifies a CLI that dies as crashed, with its stderr', async () => {
    const bin = await fakeCli(worktree.dir, 'codex', `case "$1" in --version) echo 'codex-cli 0.169.0';; *) echo 'segfault-ish' >&2; exit 3;; esac`);
    const result = await runner({ command: bin }).run(request({ role: 'planner' }), { signal: signal() });
    expect(result.error_kind).toBe('crashed');
    expect(result.error).toContain('exited with code 3: segfault-ish');
  });
});
