import { describe, expect, it } from 'vitest';
import { claudeArgs } from '../../src/runners/claude-code.js';
import { claudeError, claudeWritePaths, createClaudeStreamParser } from '../../src/runners/claude-stream.js';
import { ClaudeCodeSettingsSchema } from '../../src/runners/runner-settings.js';
import { loadCliFixture, replay } from '../helpers/fake-model/cli-fixtures.js';
import { runRequest } from '../helpers/fake-model/e2e-kit.js';

const play = (name: string) => replay(createClaudeStreamParser(), loadCliFixture('claude', name), 1_000);

describe('claude stream parser on recorded claude 2.1.330 output', () => {
  it('reads a plain answer with its usage and cost', () => {
    const { outcome, signals } = play('plain');
    expect(signals).toEqual([]);
    expect(outcome).toEqual({
      text: 'Hello from the fake model.',
      usage: { input: 100, output: 20 },
      costUsd: 0.0006000000000000001,
      error: undefined,
      completed: true,
      denials: [],
    });
  });

  it('prefers the structured output of --json-schema', () => {
    const { outcome } = play('structured');
    expect(outcome.structured).toEqual({ ok: true, answer: 42 });
    expect(outcome.error).toBeUndefined();
  });

  it('signals a Write with its path and the tool result', () => {
    const { outcome, signals } = play('write');
    expect(signals).toHaveLength(2);
    expect(signals[0]).toMatchObject({ kind: 'tool_call', name: 'Write', writes: ['<worktree>/hello.txt'] });
    expect(signals[1]).toMatchObject({ kind: 'tool_result', failed: false });
    expect(signals[1]?.kind === 'tool_result' && signals[1].id).toBe(signals[0]?.id);
    expect(outcome).toMatchObject({ text: 'DONE: wrote hello.txt', usage: { input: 200, output: 40 }, completed: true });
  });

  it('marks a refused tool as a failed result', () => {
    const { signals } = play('write-read-only');
    expect(signals[1]).toMatchObject({ kind: 'tool_result', failed: true });
  });

  it('repeats identical calls and results in a loop', () => {
    const { signals } = play('loop');
    const results = signals.filter((s) => s.kind === 'tool_result').map((s) => (s.kind === 'tool_result' ? s.output : ''));
    expect(results).toEqual(['1\tsame\n2\t', '1\tsame\n2\t', '1\tsame\n2\t']);
  });

  it('turns the CLI turn limit into no_progress', () => {
    expect(play('max-turns').outcome.error).toEqual({ kind: 'no_progress', message: 'turn limit reached: Reached maximum number of turns (1)' });
  });

  it.each([
    ['err-429', 'rate_limit', 429],
    ['err-500', 'crashed', 500],
    ['err-529', 'overloaded', 529],
    ['err-400', 'crashed', 400],
    ['err-401', 'auth', 401],
  ] as const)('classifies %s as %s', (name, kind, status) => {
    const { outcome } = play(name);
    expect(outcome.error).toMatchObject({ kind, httpStatus: status });
    expect(outcome.usage).toEqual({ input: 0, output: 0 });
  });

  it('has no result for a killed call, keeping the partial usage it saw', () => {
    expect(play('hang').outcome).toMatchObject({ completed: false, usage: undefined });
    expect(play('write-outside').outcome).toMatchObject({ completed: false, usage: { input: 100, output: 1 } });
  });
});

describe('claude errors and args', () => {
  // No recording exists of this one: a subscription's usage limit cannot be reached against the
  // fake server (claude prints it for its own plans, not for an API answer). The text is the one
  // Claude Code prints (`Claude AI usage limit reached|<reset epoch seconds>`); the 429 path with a
  // real recorded answer is covered by `err-429` above.
  it('reads the reset time of a usage limit', () => {
    const error = claudeError({ is_error: true, result: 'Claude AI usage limit reached|1700000100' }, 1_700_000_000_000);
    expect(error).toEqual({ kind: 'rate_limit', message: 'Claude AI usage limit reached|1700000100', retryAfterMs: 100_000 });
  });

  it('knows which tools write which path', () => {
    expect(claudeWritePaths('Edit', { file_path: 'a.ts' })).toEqual(['a.ts']);
    expect(claudeWritePaths('NotebookEdit', { notebook_path: 'n.ipynb' })).toEqual(['n.ipynb']);
    expect(claudeWritePaths('Read', { file_path: 'a.ts' })).toEqual([]);
  });

  it('gives read-only roles only read tools and the implementer acceptEdits', () => {
    const settings = ClaudeCodeSettingsSchema.parse({ max_turns: 7 });
    const model = { provider: 'anthropic', model: 'claude-sonnet-4-5', runner: 'claude-code' };
    expect(
      claudeArgs(
        runRequest({ role: 'planner', model, cwd: '/w', outputSchema: { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object' } }),
        settings,
        '-starts with a dash',
      ),
    ).toEqual([
      '-p',
      '--output-format',
      'stream-json',
      '--verbose',
      '--model',
      'claude-sonnet-4-5',
      '--no-session-persistence',
      '--max-turns',
      '7',
      '--permission-mode',
      'default',
      '--tools',
      'Read,Grep,Glob',
      '--json-schema',
      '{"type":"object"}',
      '--',
      '-starts with a dash',
    ]);
    expect(claudeArgs(runRequest({ role: 'implementer', model, cwd: '/w' }), settings, undefined)).toEqual([
      '-p',
      '--output-format',
      'stream-json',
      '--verbose',
      '--model',
      'claude-sonnet-4-5',
      '--no-session-persistence',
      '--max-turns',
      '7',
      '--permission-mode',
      'acceptEdits',
    ]);
  });
});
