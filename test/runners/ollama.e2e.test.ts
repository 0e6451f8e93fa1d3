import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ModelRef, RunRequest } from '../../src/model/execution.js';
import { createOllamaRunner } from '../../src/runners/ollama.js';
import { runRequest } from '../helpers/fake-model/e2e-kit.js';
import { startFakeModelServer, type FakeModelServer } from '../helpers/fake-model-server.js';
import { startFakeOllama } from '../helpers/fake-ollama.js';

const model: ModelRef = { provider: 'ollama', model: 'qwen3:4b', runner: 'ollama' };
const schema = { type: 'object', properties: { ok: { type: 'boolean' }, answer: { type: 'number' } }, required: ['ok', 'answer'] };

let server: FakeModelServer;
const runner = () => createOllamaRunner({ host: server.url });
const request = (fields: Partial<RunRequest> = {}): RunRequest => ({ ...runRequest({ role: 'mediator', model, cwd: '/' }), ...fields });
const signal = (): AbortSignal => new AbortController().signal;

beforeAll(async () => {
  server = await startFakeModelServer();
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  server.clearRequests();
});

describe('ollama runner through the real ollama client', () => {
  it('answers with text and the real token counts of /api/chat', async () => {
    server.use({ kind: 'text', text: 'Hello from the fake model.' });
    const result = await runner().run(request({ prompt: 'Say hello.' }), { signal: signal() });
    expect(result).toMatchObject({
      success: true,
      response: 'Hello from the fake model.',
      tokens_input: 100,
      tokens_output: 20,
      tokens_estimated: false,
      cost_usd: 0,
      cost_source: 'unpriced',
      runner: 'ollama',
    });
    const [sent] = server.requests('ollama');
    expect(sent?.url).toBe('/api/chat');
    expect(sent?.body).toMatchObject({ model: 'qwen3:4b', stream: true, messages: [{ role: 'user', content: 'Say hello.' }] });
  });

  it('sends the answer schema as `format` and returns the JSON', async () => {
    server.use({ kind: 'json', value: { ok: true, answer: 42 } });
    const result = await runner().run(request({ outputSchema: schema }), { signal: signal() });
    expect(JSON.parse(result.response)).toEqual({ ok: true, answer: 42 });
    expect((server.requests('ollama')[0]?.body as { format: unknown }).format).toEqual(schema);
  });

  it('prices tokens when the config gives the model a price', async () => {
    server.use({ kind: 'text', text: 'priced' });
    const result = await createOllamaRunner({ host: server.url, prices: { 'qwen3:4b': { input_per_mtok: 1, output_per_mtok: 2 } } }).run(request(), {
      signal: signal(),
    });
    expect(result).toMatchObject({ cost_source: 'price_table' });
    expect(result.cost_usd).toBeCloseTo((100 * 1 + 20 * 2) / 1_000_000, 12);
  });

  it.each([
    { status: 429, kind: 'rate_limit' },
    { status: 500, kind: 'crashed' },
    { status: 503, kind: 'overloaded' },
    { status: 400, kind: 'crashed' },
    { status: 401, kind: 'auth' },
  ] as const)('classifies HTTP $status as $kind', async ({ status, kind }) => {
    server.use({ kind: 'error', status, retryAfterSeconds: status === 429 ? 7 : undefined, message: `fake ${status}` });
    const result = await runner().run(request(), { signal: signal() });
    expect(result).toMatchObject({ success: false, error_kind: kind, http_status: status, error: `ollama: HTTP ${status}: fake ${status}` });
    expect(result.retry_after_ms).toBe(status === 429 ? 7_000 : undefined);
  });

  it('says how to get a model the server does not have', async () => {
    server.use({ kind: 'error', status: 404, message: "model 'qwen3:4b' not found" });
    const result = await runner().run(request(), { signal: signal() });
    expect(result.error).toBe("ollama: HTTP 404: model 'qwen3:4b' not found (is the model pulled? run: ollama pull qwen3:4b)");
  });

  it('times out a server that never answers', async () => {
    server.use({ kind: 'hang' });
    const result = await runner().run(request({ timeoutMs: 500 }), { signal: signal() });
    expect(result).toMatchObject({ success: false, error_kind: 'timeout' });
  });

  it('times out a stalled stream, keeping the partial answer', async () => {
    server.use({ kind: 'stall' });
    const result = await runner().run(request({ timeoutMs: 500 }), { signal: signal() });
    expect(result).toMatchObject({ success: false, error_kind: 'timeout', response: 'Thinking' });
  });

  it('is cancelled by its AbortSignal', async () => {
    server.use({ kind: 'hang' });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const result = await runner().run(request(), { signal: controller.signal });
    expect(result.error_kind).toBe('cancelled');
  });

  it('reports a server that is not there', async () => {
    const gone = await startFakeModelServer();
    await gone.close();
    const result = await createOllamaRunner({ host: gone.url }).run(request(), { signal: signal() });
    expect(result.error_kind).toBe('crashed');
    expect(result.error).toBe(`ollama: cannot reach Ollama at ${gone.url}: fetch failed (ECONNREFUSED)`);
  });

  it.each([
    ['an HTML page', '<html><body>502 Bad Gateway</body></html>'],
    ['JSON of another shape', '{"choices":[{"text":"hi"}]}\n'],
  ])('reports %s answered with 200 as bad_output, not as an unreachable server', async (_what, body) => {
    const other = await startFakeOllama({ models: [model.model] });
    try {
      other.reply({ raw: body });
      const result = await createOllamaRunner({ host: other.url }).run(request(), { signal: signal() });
      expect(result).toMatchObject({ success: false, error_kind: 'bad_output' });
      expect(result.error).toContain(`the answer from ${other.url} is not Ollama's JSON stream`);
    } finally {
      await other.close();
    }
  });

  it('reads the server version', async () => {
    expect(await runner().version()).toEqual({ ok: true, host: server.url, version: '0.12.0' });
  });
});
