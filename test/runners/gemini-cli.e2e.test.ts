import { expect } from 'vitest';
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
