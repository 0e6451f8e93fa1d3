import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { jsonSchemaOf } from '../../src/roles/prompts/common.js';
import type { ModelRef, RunRequest } from '../../src/model/execution.js';
import { PlanReviewSchema } from '../../src/model/role-outputs.js';
import { createClaudeCodeRunner } from '../../src/runners/claude-code.js';
import type { ProcessEnd } from '../../src/runners/cli-runner.js';
import type { ClaudeCodeSettings } from '../../src/runners/runner-settings.js';
import { cliBin, fakeCli, fixtureRecorder, processesLeftIn, runRequest, tempWorktree } from '../helpers/fake-model/e2e-kit.js';
import { startFakeModelServer, type FakeModelServer } from '../helpers/fake-model-server.js';

const model: ModelRef = { provider: 'anthropic', model: 'claude-sonnet-4-5', runner: 'claude-code' };
const schema = { type: 'object', properties: { ok: { type: 'boolean' }, answer: { type: 'number' } }, required: ['ok', 'answer'], additionalProperties: false };

let server: FakeModelServer;
let worktree: { dir: string; cleanup: () => Promise<void> };
let lastEnd: ProcessEnd | undefined;
const recorder = fixtureRecorder('claude', () => [
  [worktree.dir, '<worktree>'],
  [`127.0.0.1:${server.port}`, '127.0.0.1:<port>'],
]);

function runner(overrides: Partial<ClaudeCodeSettings> = {}) {
  return createClaudeCodeRunner(
    {
      command: cliBin.claude,
      config_home: 'isolated',
      base_url: server.url,
      max_retries: 0,
      env: { ANTHROPIC_API_KEY: 'sk-fake' },
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

describe('claude-code runner against the real claude CLI', () => {
  it('answers a read-only role with text, real tokens and the CLI cost, offering only read tools', async () => {
    server.use({ kind: 'text', text: 'Hello from the fake model.' });
    const result = await runner().run(request({ role: 'planner', prompt: 'Say hello.' }), { signal: signal() });
    recorder.save('plain', lastEnd);
    expect(result).toMatchObject({ success: true, response: 'Hello from the fake model.', tokens_input: 100, tokens_output: 20, tokens_estimated: false, cost_source: 'reported', runner: 'claude-code' });
    expect(result.cost_usd).toBeGreaterThan(0);
    const sent = server.requests('anthropic');
    expect(sent).toHaveLength(1);
    const body = sent[0]?.body as { model: string; tools: { name: string }[]; messages: unknown[] };
    expect(body.model).toBe('claude-sonnet-4-5');
    expect(body.tools.map((t) => t.name).sort()).toEqual(['Glob', 'Grep', 'Read']);
    expect(JSON.stringify(body.messages)).toContain('Say hello.');
    expect(sent[0]?.headers['x-api-key']).toBe('sk-fake');
  });

  it('returns the structured answer through --json-schema', async () => {
    server.use({ kind: 'json', value: { ok: true, answer: 42 } });
    const result = await runner().run(request({ role: 'plan-reviewer', outputSchema: schema }), { signal: signal() });
    recorder.save('structured', lastEnd);
    expect(result.success).toBe(true);
    expect(JSON.parse(result.response)).toEqual({ ok: true, answer: 42 });
    const first = server.requests('anthropic')[0]?.body as { tools: { name: string; input_schema: unknown }[] };
    expect(first.tools.find((t) => t.name === 'StructuredOutput')?.input_schema).toMatchObject(schema);
  });

  it('accepts the draft 2020-12 schemas zod writes (without their $schema key)', async () => {
    server.use({ kind: 'json', value: { status: 'approved' } });
    const result = await runner().run(request({ role: 'plan-reviewer', outputSchema: jsonSchemaOf(PlanReviewSchema) }), { signal: signal() });
    expect(result).toMatchObject({ success: true, response: '{"status":"approved"}' });
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

  it('stops a write outside the worktree as permission_denied', async () => {
    const outside = path.join(path.dirname(worktree.dir), `${path.basename(worktree.dir)}-outside.txt`);
    server.use({ kind: 'write', path: outside, content: 'escaped\n' });
    const result = await runner().run(request({ role: 'implementer' }), { signal: signal() });
    recorder.save('write-outside', lastEnd);
    expect(result.error_kind).toBe('permission_denied');
    expect(result.error).toContain(outside);
    expect(existsSync(outside)).toBe(false);
  });

  it('stops a model repeating the same tool call as no_progress', async () => {
    await writeFile(path.join(worktree.dir, 'same.txt'), 'same\n');
    server.use({ kind: 'loop', path: 'same.txt' });
    const result = await runner().run(request({ role: 'planner' }), { signal: signal() });
    recorder.save('loop', lastEnd);
    expect(result.error_kind).toBe('no_progress');
    expect(result.error).toMatch(/same tool call .*Read.* returned the same result 3 times/);
  });

  it('reports the CLI turn limit as no_progress', async () => {
    await writeFile(path.join(worktree.dir, 'same.txt'), 'same\n');
    server.use({ kind: 'loop', path: 'same.txt' });
    const result = await runner({ max_turns: 1, repeat_limit: 10 }).run(request({ role: 'planner' }), { signal: signal() });
    recorder.save('max-turns', lastEnd);
    expect(result.error_kind).toBe('no_progress');
    expect(result.error).toContain('Reached maximum number of turns (1)');
  });

  it.each([
    { status: 429, kind: 'rate_limit', name: 'err-429', requests: 1 },
    { status: 500, kind: 'crashed', name: 'err-500', requests: 1 },
    { status: 529, kind: 'overloaded', name: 'err-529', requests: 1 },
    // On a 400 the CLI tries again twice, each time without one more beta feature.
    { status: 400, kind: 'crashed', name: 'err-400', requests: 3 },
    { status: 401, kind: 'auth', name: 'err-401', requests: 1 },
  ] as const)('classifies HTTP $status as $kind', async ({ status, kind, name, requests }) => {
    server.use({ kind: 'error', status, retryAfterSeconds: status === 429 ? 7 : undefined });
    const result = await runner().run(request({ role: 'planner' }), { signal: signal() });
    recorder.save(name, lastEnd);
    // Claude Code does not pass the retry-after of a 429 on; Gemini CLI prints it.
    expect(result.retry_after_ms).toBeUndefined();
    expect(result).toMatchObject({ success: false, error_kind: kind, http_status: status, tokens_input: 0, tokens_output: 0 });
    expect(server.requests('anthropic')).toHaveLength(requests);
  });

  it('times out a server that never answers and leaves no process', async () => {
    server.use({ kind: 'hang' });
    const started = Date.now();
    const result = await runner().run(request({ role: 'planner', timeoutMs: 2_500 }), { signal: signal() });
    recorder.save('hang', lastEnd);
    expect(result.error_kind).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('times out a stream that stalls, keeping the partial events in the transcript and the event log', async () => {
    server.use({ kind: 'stall' });
    const events: unknown[] = [];
    const transcriptDir = path.join(worktree.dir, '.transcripts');
    const stalled = createClaudeCodeRunner(
      { command: cliBin.claude, config_home: 'isolated', base_url: server.url, max_retries: 0, env: { ANTHROPIC_API_KEY: 'sk-fake' } },
      { transcriptDir, onEvent: (e) => events.push(e.event), onProcessEnd: (end) => (lastEnd = end) },
    );
    const result = await stalled.run(request({ role: 'planner', timeoutMs: 2_500 }), { signal: signal() });
    recorder.save('stall', lastEnd);
    expect(result.error_kind).toBe('timeout');
    expect(result.transcript).toBe(path.join(transcriptDir, 'E2E-1', 'plan-planner-a1-t0-claude-code.jsonl'));
    expect(readFileSync(result.transcript ?? '', 'utf8')).toContain('"subtype":"init"');
    expect(events).toEqual([expect.objectContaining({ type: 'system', subtype: 'init' })]);
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
    expect(JSON.stringify(server.requests('anthropic')[0]?.body)).toContain('END-OF-LONG-PROMPT');
  });

  it('reports a CLI missing from PATH', async () => {
    const result = await runner({ command: 'claude-not-installed-here' }).run(request({ role: 'planner' }), { signal: signal() });
    expect(result).toMatchObject({ success: false, error_kind: 'unavailable', tokens_input: 0 });
    expect(result.error).toContain('claude-not-installed-here');
  });

  it('refuses a version it was not tested with', async () => {
    const bin = await fakeCli(worktree.dir, 'claude', `echo '9.9.9 (Claude Code)'`);
    const result = await runner({ command: bin }).run(request({ role: 'planner' }), { signal: signal() });
    expect(result.error_kind).toBe('unavailable');
    expect(result.error).toContain('version 9.9.9, which tandem was not tested with (tested: 2.1.330)');
  });

  it('classifies output that is not the JSON stream as bad_output', async () => {
    const bin = await fakeCli(worktree.dir, 'claude', `case "$1" in --version) echo '2.1.330 (Claude Code)';; *) echo 'Welcome to Claude!';; esac`);
    const result = await runner({ command: bin }).run(request({ role: 'planner' }), { signal: signal() });
    expect(result.error_kind).toBe('bad_output');
    expect(result.error).toContain('Welcome to Claude!');
  });

  it('classifies a CLI that dies as crashed, with its stderr', async () => {
    const bin = await fakeCli(worktree.dir, 'claude', `case "$1" in --version) echo '2.1.330 (Claude Code)';; *) echo 'segfault-ish' >&2; exit 3;; esac`);
    const result = await runner({ command: bin }).run(request({ role: 'planner' }), { signal: signal() });
    expect(result.error_kind).toBe('crashed');
    expect(result.error).toContain('exited with code 3: segfault-ish');
  });
});
