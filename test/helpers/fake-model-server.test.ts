import { afterEach, describe, expect, it } from 'vitest';
import { startFakeModelServer, type FakeModelServer } from './fake-model-server.js';

/**
 * The fake model server the e2e suites stand on, tested by itself: if it answered wrongly, the
 * runner suites could pass against something no real API says. Raw HTTP, no CLI.
 */

let server: FakeModelServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('fake model server', () => {
  it('streams an Anthropic Messages answer with the usage it was given', async () => {
    server = await startFakeModelServer({ scenario: { kind: 'text', text: 'Hello there.' } });
    const res = await post(`${server.url}/v1/messages`, {
      model: 'claude-sonnet-4-5',
      stream: true,
      max_tokens: 10,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const text = await res.text();
    expect(text).toContain('event: message_start');
    expect(text).toContain('Hello there.');
    expect(text).toContain('event: message_stop');
    expect(server.requests('anthropic')).toHaveLength(1);
    expect(server.requests('anthropic')[0]?.decision).toBe('text');
  });

  it('answers an OpenAI Responses call and an Ollama chat in their own shapes', async () => {
    server = await startFakeModelServer({ scenario: { kind: 'json', value: { ok: true } } });
    const openai = await (await post(`${server.url}/v1/responses`, { model: 'gpt-5-codex', stream: true, input: [] })).text();
    expect(openai).toContain('response.completed');
    expect(openai).toContain('{\\"ok\\":true}');
    const ollama = await (await post(`${server.url}/api/chat`, { model: 'qwen3:4b', stream: false, messages: [{ role: 'user', content: 'hi' }] })).json();
    expect(ollama).toMatchObject({ model: 'qwen3:4b', message: { role: 'assistant', content: '{"ok":true}' }, done: true });
    expect(server.requests().map((r) => r.provider)).toEqual(['openai', 'ollama']);
  });

  it('sends the scripted error with its retry-after, and says so for an unknown path', async () => {
    server = await startFakeModelServer({ scenario: { kind: 'error', status: 429, retryAfterSeconds: 7, message: 'slow down' } });
    const limited = await post(`${server.url}/v1/messages`, { model: 'm', stream: true, messages: [] });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect(await limited.text()).toContain('slow down');
    const unknown = await post(`${server.url}/v2/nothing`, {});
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toContain('does not know POST /v2/nothing');
  });

  it('keeps a hanging request open until the client gives up, and closes with it open', async () => {
    server = await startFakeModelServer({ scenario: { kind: 'hang' } });
    const pending = post(`${server.url}/v1/messages`, { model: 'm', stream: true, messages: [] });
    const raced = await Promise.race([pending.then(() => 'answered'), new Promise((r) => setTimeout(() => r('still open'), 300))]);
    expect(raced).toBe('still open');
    await server.close();
    server = undefined;
    await expect(pending).rejects.toThrow();
  });
});
