import { describe, expect, it } from 'vitest';
import { codexArgs, isStrictSchema, outputSchemaFor, toStrictSchema } from '../../src/runners/codex-cli.js';
import { parseStructured } from '../../src/roles/parse-output.js';
import { jsonSchemaOf } from '../../src/roles/prompts/common.js';
import { withoutMetaSchema } from '../../src/runners/prompt-input.js';
import { CodeReviewSchema, ImplementationReportSchema, PlanReviewSchema, PlanSchema } from '../../src/model/role-outputs.js';
import { codexError, createCodexStreamParser } from '../../src/runners/codex-stream.js';
import { CodexCliSettingsSchema } from '../../src/runners/runner-settings.js';
import { loadCliFixture, replay } from '../helpers/fake-model/cli-fixtures.js';
import { runRequest } from '../helpers/fake-model/e2e-kit.js';

const play = (name: string) => replay(createCodexStreamParser(), loadCliFixture('codex', name), 1_000);

describe('codex stream parser on recorded codex-cli 0.169.0 output', () => {
  it('reads the answer and usage, ignoring the non-fatal error item', () => {
    expect(play('plain').outcome).toEqual({
      text: 'Hello from the fake model.',
      usage: { input: 100, output: 20 },
      completed: true,
      denials: [],
      error: undefined,
    });
  });

  it('signals a shell command once, then its result', () => {
    const { signals, outcome } = play('write');
    expect(signals).toMatchObject([
      { kind: 'tool_call', name: 'command', writes: [] },
      { kind: 'tool_result', failed: false },
    ]);
    expect(outcome).toMatchObject({ text: 'DONE: wrote hello.txt', usage: { input: 200, output: 40 } });
  });

  it('signals an apply_patch with the paths it writes', () => {
    expect(play('write-apply-patch').signals[0]).toMatchObject({ kind: 'tool_call', name: 'apply_patch', writes: ['<worktree>/patched.txt'] });
    expect(play('write-outside-danger').signals[0]).toMatchObject({ kind: 'tool_call', writes: ['<worktree>-outside-dfa.txt'] });
  });

  it('repeats identical command results in a loop', () => {
    const outputs = play('loop').signals.flatMap((s) => (s.kind === 'tool_result' ? [s.output] : []));
    expect(outputs).toEqual(['0\u0000same\n', '0\u0000same\n', '0\u0000same\n']);
  });

  it.each([
    ['err-429', 'rate_limit', 429],
    ['err-500', 'overloaded', undefined],
    ['err-503', 'overloaded', 503],
    ['err-400', 'crashed', undefined],
    ['err-401', 'auth', 401],
  ] as const)('classifies the turn.failed of %s as %s', (name, kind, status) => {
    const { outcome } = play(name);
    expect(outcome.error).toMatchObject({ kind });
    expect(outcome.error?.httpStatus).toBe(status);
  });

  it('reads a missing API key variable as auth', () => {
    expect(play('missing-key').outcome.error).toMatchObject({ kind: 'auth', message: 'Missing environment variable: `TANDEM_TEST_NO_SUCH_KEY`.' });
  });

  it('reports a patch codex refused outside the project as permission_denied, though the turn completed', () => {
    const { outcome } = play('write-outside');
    expect(outcome.completed).toBe(true);
    expect(outcome.error?.kind).toBe('permission_denied');
    expect(outcome.error?.message).toContain('patch rejected: writing outside of the project');
    expect(play('write').outcome.error).toBeUndefined();
  });

  it('has no final event when killed', () => {
    expect(play('hang').outcome).toMatchObject({ completed: false, usage: undefined, error: undefined });
  });

  it('reads a stream idle timeout as a timeout', () => {
    expect(codexError('stream disconnected before completion: idle timeout waiting for SSE', 0).kind).toBe('timeout');
  });
});

describe('codex args', () => {
  const settings = CodexCliSettingsSchema.parse({ base_url: 'http://127.0.0.1:1/v1', max_retries: 0 });
  const model = { provider: 'openai', model: 'gpt-5-codex', runner: 'codex-cli' };

  it('runs read-only roles in the read-only sandbox with the prompt after --', () => {
    const args = codexArgs(runRequest({ role: 'planner', model, cwd: '/w' }), settings, '-p', undefined, '/t');
    expect(args.slice(0, 10)).toEqual(['exec', '--json', '--skip-git-repo-check', '--ephemeral', '--color', 'never', '-s', 'read-only', '-m', 'gpt-5-codex']);
    expect(args.slice(-2)).toEqual(['--', '-p']);
    expect(args).toContain('model_providers.tandem.request_max_retries=0');
    expect(args).not.toContain('sandbox_workspace_write.exclude_slash_tmp=true');
  });

  it('takes /tmp out of the implementer sandbox and reads a long prompt from stdin', () => {
    const args = codexArgs(runRequest({ role: 'implementer', model, cwd: '/w' }), settings, undefined, '/s/schema.json', '/t');
    expect(args).toEqual(
      expect.arrayContaining([
        'workspace-write',
        '--output-schema',
        '/s/schema.json',
        'sandbox_workspace_write.exclude_slash_tmp=true',
        'sandbox_workspace_write.writable_roots=["/t"]',
      ]),
    );
    expect(args.slice(-2)).toEqual(['--', '-']);
  });

  it('tells strict-mode schemas apart', () => {
    expect(isStrictSchema({ type: 'object', properties: { a: { type: 'string' } }, required: ['a'], additionalProperties: false })).toBe(true);
    expect(isStrictSchema({ type: 'object', properties: { a: { type: 'string' } }, required: [], additionalProperties: false })).toBe(false);
    expect(isStrictSchema({ type: 'object', properties: { a: { type: 'object', properties: {} } }, required: ['a'], additionalProperties: false })).toBe(false);
  });

  describe('strict output schemas for --output-schema', () => {
    const roleSchemas = { PlanSchema, PlanReviewSchema, CodeReviewSchema, ImplementationReportSchema };

    it.each(Object.entries(roleSchemas))('makes %s strict, so codex gets it with the call', (_name, schema) => {
      const json = withoutMetaSchema(jsonSchemaOf(schema));
      expect(isStrictSchema(json)).toBe(false);
      const strict = toStrictSchema(json);
      expect(isStrictSchema(strict)).toBe(true);
      expect(JSON.stringify(strict)).not.toContain('"default"');
      const request = runRequest({ role: 'plan-reviewer', model, cwd: '/w', outputSchema: jsonSchemaOf(schema) });
      expect(outputSchemaFor(request, CodexCliSettingsSchema.parse({}))).toEqual(strict);
      expect(outputSchemaFor(request, CodexCliSettingsSchema.parse({ output_schema: 'never' }))).toBeUndefined();
      expect(outputSchemaFor(request, CodexCliSettingsSchema.parse({ output_schema: 'always' }))).toEqual(json);
    });

    it('turns an optional property into a required nullable one, and the parser reads the null as absent', () => {
      const strict = toStrictSchema(jsonSchemaOf(PlanReviewSchema)) as { properties: Record<string, unknown>; required: string[] };
      expect(strict.required).toEqual(['status', 'review', 'revised_plan']);
      expect(strict.properties['status']).toEqual({ type: 'string', enum: ['approved', 'needs_revision', 'rejected'] });
      expect(strict.properties['revised_plan']).toMatchObject({ anyOf: [{ type: 'object' }, { type: 'null' }] });
      // What a model under strict mode answers: every field present, the unused ones null.
      const answer = {
        status: 'approved',
        review: { completeness: null, feasibility: 8, risk_assessment: null, missing_steps: [], concerns: ['x'], suggestions: [] },
        revised_plan: null,
      };
      const parsed = parseStructured(JSON.stringify(answer), PlanReviewSchema);
      expect(parsed).toEqual({ ok: true, value: { status: 'approved', review: { feasibility: 8, missing_steps: [], concerns: ['x'], suggestions: [] } } });
      // A null where the schema needs a value is still an error, named by its field.
      const wrong = parseStructured(JSON.stringify({ ...answer, status: null }), PlanReviewSchema);
      expect(wrong.ok ? 'parsed' : wrong.error).toContain('status');
    });
  });
});
