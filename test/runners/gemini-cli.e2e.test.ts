import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { ModelRef } from '../../src/model/execution.js';
import { createGeminiCliRunner } from '../../src/runners/gemini-cli.js';
import type { GeminiCliSettings } from '../../src/runners/runner-settings.js';
import { cliBin } from '../helpers/fake-model/e2e-kit.js';
import { describeRunnerConformance, useCliE2eHarness } from '../helpers/runner-conformance.js';

const model: ModelRef = { provider: 'google', model: 'gemini-2.5-flash', runner: 'gemini-cli' };

const h = useCliE2eHarness<GeminiCliSettings>({
  cli: 'gemini',
  runner: 'gemini-cli',
  provider: 'gemini',
  model,
  create: (server, overrides, options) =>
    createGeminiCliRunner(
      { command: cliBin.gemini, config_home: 'isolated', base_url: server.url, max_retries: 0, env: { GEMINI_API_KEY: 'fake-gemini-key' }, ...overrides },
      options,
    ),
});

// Every case of Gemini CLI is a conformance case: it has no schema option (a structured answer comes
// back as the answer text, so there is no schema in the request to check) and no behaviour of its own.
describeRunnerConformance(h, {
  plain: {
    // gemini-2.5-flash: $0.30 in, $2.50 out per million tokens.
    cost: { source: 'price_table', usd: (100 * 0.3 + 20 * 2.5) / 1_000_000 },
    promptField: 'contents',
    authHeader: ['x-goog-api-key', 'fake-gemini-key'],
    checkRequest: (sent) => {
      expect(sent.url).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
      // A read-only role is offered no write tools.
      const body = sent.body as { tools: { functionDeclarations: { name: string }[] }[] };
      const tools = body.tools.flatMap((t) => t.functionDeclarations.map((f) => f.name));
      expect(tools).toContain('read_file');
      expect(tools).not.toContain('write_file');
      expect(tools).not.toContain('run_shell_command');
    },
  },
  writeOutside: { error: (outside) => outside },
  loopError: /same tool call .*read_file.* returned the same result 3 times/,
  turnLimitError: /turn limit/,
  httpErrors: [
    // Gemini CLI prints the server's retry delay ("Suggested retry after 7s").
    { status: 429, kind: 'rate_limit', name: 'err-429', requests: 1, http: 429, retryAfterMs: 7_000 },
    { status: 500, kind: 'crashed', name: 'err-500', requests: 1, http: 500, retryAfterMs: undefined },
    { status: 503, kind: 'overloaded', name: 'err-503', requests: 1, http: 503, retryAfterMs: undefined },
    { status: 400, kind: 'crashed', name: 'err-400', requests: 1, http: 400, retryAfterMs: undefined },
    { status: 401, kind: 'auth', name: 'err-401', requests: 1, http: 401, retryAfterMs: undefined },
  ],
  // Gemini CLI starts slowly (about 2 s before it reaches the model, far more on a loaded machine):
  // the stall case must see its first events before the timeout.
  timeoutMs: 8_000,
  abortAfterMs: 2_000,
  stall: {
    marker: '"type":"init"',
    events: [{ type: 'init' }, { type: 'message', role: 'user' }, { type: 'message', role: 'assistant', delta: true }],
    // The model began its answer ("Thinking") before the stall: the prompt ("Say hello.") and the partial answer are estimated.
    tokens: { tokens_input: 3, tokens_output: 2, tokens_estimated: true },
  },
  version: { tested: '0.61.0', line: (version) => version },
});

/** A port on 127.0.0.1 nothing listens on: connections to it are refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('gemini-cli runner: what only Gemini CLI does', () => {
  // Gemini CLI gives up on a request without response headers after about 60 s, before tandem's own
  // timeout (minutes), and words it like a refused connection: `fetch failed sending request`.
  it('classifies a request the server never answers as timeout when Gemini CLI gives up first', { timeout: 240_000 }, async () => {
    h.server.use({ kind: 'hang' });
    const result = await h.runner().run(h.request({ role: 'planner', timeoutMs: 200_000 }), { signal: h.signal() });
    h.recorder.save('no-answer', h.lastEnd);
    // Gemini ended the call itself, it was not stopped by tandem's timeout.
    expect(h.lastEnd?.stopped).toBeUndefined();
    expect(result).toMatchObject({ success: false, error_kind: 'timeout', tokens_input: 0, tokens_output: 0, cost_usd: 0 });
    expect(result.error).toMatch(/^gemini-cli: no answer from the model after \d+ s: .*fetch failed sending request/);
  });

  it('keeps a connection the server refuses at once a crash', async () => {
    const result = await h.runner({ base_url: `http://127.0.0.1:${await closedPort()}` }).run(h.request({ role: 'planner' }), { signal: h.signal() });
    h.recorder.save('refused', h.lastEnd);
    expect(result).toMatchObject({ success: false, error_kind: 'crashed', tokens_input: 0, cost_usd: 0 });
    expect(result.error).toContain('fetch failed sending request');
  });
});
