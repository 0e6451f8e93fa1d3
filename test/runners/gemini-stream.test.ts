import { describe, expect, it } from 'vitest';
import { geminiArgs, geminiHomeSettings } from '../../src/runners/gemini-cli.js';
import { createGeminiStreamParser, geminiWritePaths } from '../../src/runners/gemini-stream.js';
import { GeminiCliSettingsSchema } from '../../src/runners/runner-settings.js';
import { loadCliFixture, replay } from '../helpers/fake-model/cli-fixtures.js';
import { runRequest } from '../helpers/fake-model/e2e-kit.js';

const play = (name: string) => replay(createGeminiStreamParser(), loadCliFixture('gemini', name), 1_000);

describe('gemini stream parser on recorded gemini 0.61.0 output', () => {
  it('reads a plain answer with its usage', () => {
    expect(play('plain').outcome).toEqual({ text: 'Hello from the fake model.', usage: { input: 100, output: 20 }, completed: true, denials: [] });
  });

  it('takes the text after the last tool call as the answer', () => {
    const { outcome, signals } = play('write');
    expect(outcome).toMatchObject({ text: 'DONE: wrote hello.txt', usage: { input: 200, output: 40 }, completed: true });
    expect(signals).toMatchObject([
      { kind: 'tool_call', name: 'write_file', writes: ['hello.txt'] },
      { kind: 'tool_result', failed: false },
    ]);
  });

  it('marks a tool the read-only mode does not offer as a failed result', () => {
    const { signals } = play('write-read-only');
    expect(signals[1]).toMatchObject({ kind: 'tool_result', failed: true });
    expect(signals[1]?.kind === 'tool_result' && signals[1].output).toContain('Tool "write_file" not found');
  });

  it('signals a write outside the worktree with its absolute path', () => {
    expect(play('write-outside').signals[0]).toMatchObject({ kind: 'tool_call', writes: ['<worktree>-outside.txt'] });
  });

  it.each([
    ['err-429', 'rate_limit', 429, 7_000],
    ['err-500', 'crashed', 500, undefined],
    ['err-503', 'overloaded', 503, undefined],
    ['err-400', 'crashed', 400, undefined],
    ['err-401', 'auth', 401, undefined],
  ] as const)('classifies %s as %s from the result event and exit code', (name, kind, status, retryAfterMs) => {
    const { outcome } = play(name);
    expect(outcome.error).toMatchObject({ kind, httpStatus: status });
    expect(outcome.error?.retryAfterMs).toBe(retryAfterMs);
    expect(outcome.completed).toBe(true);
  });

  it('tells a request that got no answer (gemini gave up after about 60 s) from one refused at once: timeout, crash', () => {
    expect(play('no-answer').outcome.error).toMatchObject({
      kind: 'timeout',
      message: expect.stringMatching(/^no answer from the model after 6\d s: /) as unknown,
    });
    expect(play('refused').outcome.error).toMatchObject({ kind: 'crashed', message: expect.stringContaining('fetch failed sending request') as unknown });
  });

  it('keeps the partial text of a stalled stream', () => {
    expect(play('stall').outcome).toMatchObject({ text: 'Thinking', completed: false });
  });
});

describe('gemini args and settings', () => {
  const settings = GeminiCliSettingsSchema.parse({ max_turns: 5, max_retries: 0 });
  const model = { provider: 'google', model: 'gemini-2.5-pro', runner: 'gemini-cli' };

  it('runs read-only roles in the default approval mode and the implementer in auto_edit', () => {
    expect(geminiArgs(runRequest({ role: 'plan-reviewer', model, cwd: '/w' }), settings, '-x')).toEqual([
      '--prompt=-x',
      '-m',
      'gemini-2.5-pro',
      '--output-format',
      'stream-json',
      '--skip-trust',
      '--approval-mode',
      'default',
    ]);
    expect(geminiArgs(runRequest({ role: 'implementer', model, cwd: '/w' }), settings, undefined)).toContain('auto_edit');
  });

  it('writes one attempt and the turn limit into an isolated home', () => {
    expect(geminiHomeSettings(settings)).toMatchObject({
      security: { auth: { selectedType: 'gemini-api-key' } },
      general: { maxAttempts: 1 },
      model: { maxSessionTurns: 6 },
    });
  });

  it('knows which tools write a file', () => {
    expect(geminiWritePaths('replace', { file_path: 'a.ts' })).toEqual(['a.ts']);
    expect(geminiWritePaths('read_file', { file_path: 'a.ts' })).toEqual([]);
  });
});
