import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { InputError, type InputIssue } from '../../src/platform/errors.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tandem-routing-config-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function issuesFor(yaml: string): Promise<Omit<InputIssue, 'file'>[]> {
  await writeFile(join(dir, 'tandem.config.yaml'), yaml);
  try {
    loadConfig({ env: {}, argv: {}, cwd: dir });
  } catch (error) {
    if (error instanceof InputError) return error.issues.map(({ file, ...rest }) => (expect(file).toBe(join(dir, 'tandem.config.yaml')), rest));
    throw error;
  }
  throw new Error('expected the config to be rejected');
}

const defined = '(defined: flash, pro, haiku, sonnet, opus, codex, local)';

describe('routing config: bad input is rejected at load with the path and line of the field', () => {
  it('a route to an undefined model, in a cell and in a list', async () => {
    expect(await issuesFor('routing:\n  matrix:\n    implementer:\n      high: { core: gpt-9 }\n      any: { any: [pro, nope] }\n')).toEqual([
      { line: 4, column: 21, field: 'routing.matrix.implementer.high.core', message: `model \`gpt-9\` is not defined in \`models\` ${defined}` },
      { line: 5, column: 25, field: 'routing.matrix.implementer.any.any[1]', message: `model \`nope\` is not defined in \`models\` ${defined}` },
    ]);
  });

  it('a negative price', async () => {
    const yaml = 'models:\n  cheap:\n    provider: x\n    model: x-1\n    runner: scripted\n    price: { input: -1, output: 2 }\n    context_tokens: 1000\n';
    expect(await issuesFor(yaml)).toEqual([{ line: 6, column: 21, field: 'models.cheap.price.input', message: 'must be at least 0, got -1' }]);
  });

  it('a matrix cell with no model: an empty list, an empty value', async () => {
    expect(await issuesFor('routing:\n  matrix:\n    planner:\n      any: { any: [] }\n')).toEqual([
      {
        line: 4,
        column: 19,
        field: 'routing.matrix.planner.any.any',
        message: 'this matrix cell names no model: give a name from `models`, or a list of them',
      },
    ]);
    expect(await issuesFor('routing:\n  matrix:\n    planner:\n      any:\n        any:\n')).toEqual([
      { line: 5, column: 13, field: 'routing.matrix.planner.any.any', message: 'a matrix cell needs a model: a name from `models`, or a list of names' },
    ]);
  });

  it('a matrix row that leaves some risk and area without a model', async () => {
    expect(await issuesFor('routing:\n  matrix:\n    implementer:\n      high: { any: sonnet }\n')).toEqual([
      {
        line: 4,
        column: 7,
        field: 'routing.matrix.implementer',
        message: 'no model for medium/core, medium/math, medium/api, medium/services and 12 more: add cells, or an `any` cell',
      },
    ]);
  });

  it('a fallback cycle, through a shipped model', async () => {
    const yaml =
      'models:\n  haiku: { provider: anthropic, model: claude-haiku-4-5, runner: claude-code, price: { input: 1, output: 5 }, context_tokens: 200000, fallback: flash }\n';
    expect(await issuesFor(yaml)).toEqual([
      {
        line: 2,
        column: 145,
        field: 'models.haiku.fallback',
        message: 'fallback cycle: haiku → flash → haiku; a chain must end at a model without `fallback`',
      },
    ]);
  });

  it('a fallback to an undefined model, and to itself', async () => {
    const entry = (fallback: string) =>
      `{ provider: p, model: m-${fallback}, runner: r, price: { input: 1, output: 1 }, context_tokens: 1000, fallback: ${fallback} }`;
    expect(await issuesFor(`models:\n  a: ${entry('ghost')}\n  b: ${entry('b')}\n`)).toEqual([
      {
        line: 2,
        column: 112,
        field: 'models.a.fallback',
        message: `model \`ghost\` is not defined in \`models\` (defined: flash, pro, haiku, sonnet, opus, codex, local, a, b)`,
      },
      { line: 3, column: 108, field: 'models.b.fallback', message: 'a model cannot fall back to itself' },
    ]);
  });

  it('a budget below zero', async () => {
    expect(await issuesFor('budgets:\n  task_usd: 2\n  day_usd: -5\n')).toEqual([
      { line: 3, column: 12, field: 'budgets.day_usd', message: 'must be at least 0, got -5' },
    ]);
  });

  it('a pin to an undefined model, an unknown strongest model, a misspelled routing field', async () => {
    expect(await issuesFor('roles:\n  planner: gemini-9\nrouting:\n  strongest: gpt-9\n  diversty: model\n')).toEqual([
      { line: 5, column: 3, field: 'routing.diversty', message: 'unknown field `diversty` (did you mean `diversity`?)' },
      { line: 2, column: 12, field: 'roles.planner', message: `model \`gemini-9\` is not defined in \`models\` ${defined}` },
      { line: 4, column: 14, field: 'routing.strongest', message: `model \`gpt-9\` is not defined in \`models\` ${defined}` },
    ]);
    expect(await issuesFor('roles:\n  planner: gemini-9\nrouting:\n  strongest: gpt-9\n')).toEqual([
      { line: 2, column: 12, field: 'roles.planner', message: `model \`gemini-9\` is not defined in \`models\` ${defined}` },
      { line: 4, column: 14, field: 'routing.strongest', message: `model \`gpt-9\` is not defined in \`models\` ${defined}` },
    ]);
  });

  it('pinned reviewers on the author’s provider, unless diversity is by model', async () => {
    const pins = 'roles:\n  implementer: sonnet\n  code-reviewer: haiku\n';
    expect(await issuesFor(pins)).toEqual([
      {
        line: 3,
        column: 18,
        field: 'roles.code-reviewer',
        message: 'the code-reviewer must use another provider than the implementer (both are anthropic), or set `routing.diversity: model`',
      },
    ]);
    await writeFile(join(dir, 'tandem.config.yaml'), `${pins}routing:\n  diversity: model\n`);
    // The validator follows the pinned code reviewer unless pinned itself.
    expect(loadConfig({ env: {}, argv: {}, cwd: dir }).config.role_pins).toEqual({ implementer: 'sonnet', 'code-reviewer': 'haiku', validator: 'haiku' });
  });

  it('is enforced by ConfigSchema itself, not only by the file loader', () => {
    const result = ConfigSchema.safeParse({ budgets: { month_usd: -1 }, routing: { matrix: { planner: { any: { any: 'nope' } } } } });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join('.'))).toEqual(['budgets.month_usd', 'routing.matrix.planner.any.any']);
    const second = ConfigSchema.safeParse({ routing: { matrix: { planner: { any: { any: 'nope' } } } } });
    expect(second.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['routing.matrix.planner.any.any', `model \`nope\` is not defined in \`models\` ${defined}`],
    ]);
  });
});

describe('routing config: what a valid config resolves to', () => {
  it('ships seed 002’s matrix, the seven tiers, no budgets and provider diversity', () => {
    const config = ConfigSchema.parse({});
    expect(Object.keys(config.models)).toEqual(['flash', 'pro', 'haiku', 'sonnet', 'opus', 'codex', 'local']);
    expect(config.routing.matrix.planner.high).toEqual({ core: 'sonnet', math: 'sonnet', api: 'pro', services: 'pro', any: 'sonnet' });
    expect(config.routing.matrix.planner.medium).toEqual({ api: 'pro', services: 'pro', tests: 'pro', docs: 'pro', any: 'sonnet' });
    expect(config.routing.matrix.implementer.medium).toEqual({ api: 'pro', services: 'pro', any: 'codex' });
    expect(config.routing.matrix.implementer.low).toEqual({ any: 'flash' });
    expect(config.routing.diversity).toBe('provider');
    expect(config.routing.history).toMatchObject({ enabled: true, min_samples: 20, exploration: 0.05 });
    expect(config.budgets).toEqual({ on_exceed: 'downgrade' });
    expect(config.role_pins).toEqual({});
    // `roles` is what each role gets for a medium-risk task in area general.
    expect(config.roles).toEqual({
      planner: { provider: 'anthropic', model: 'claude-sonnet-4-5', runner: 'claude-code' },
      'plan-reviewer': { provider: 'google', model: 'gemini-2.5-pro', runner: 'gemini-cli' },
      implementer: { provider: 'openai', model: 'gpt-5-codex', runner: 'codex-cli' },
      'code-reviewer': { provider: 'anthropic', model: 'claude-sonnet-4-5', runner: 'claude-code' },
      // Seeds 000/001: Sonnet validates; another provider than the implementer (Codex) already.
      validator: { provider: 'anthropic', model: 'claude-sonnet-4-5', runner: 'claude-code' },
    });
    expect(config.routing.matrix.validator).toEqual({ high: { any: ['opus', 'pro', 'sonnet'] }, any: { any: ['sonnet', 'pro', 'opus'] } });
  });

  it('merges the user’s models by name and matrix rows by role; pins stay pins', async () => {
    await writeFile(
      join(dir, 'tandem.config.yaml'),
      [
        'models:',
        '  flash: { provider: google, model: gemini-2.5-flash, runner: gemini-cli, price: { input: 0.1, output: 0.4 }, context_tokens: 1000000 }',
        '  mini: { provider: openai, model: gpt-5-mini, runner: codex-cli, price: { input: 0.25, output: 2 }, context_tokens: 400000, fallback: flash }',
        'routing:',
        '  matrix:',
        '    implementer: { any: { docs: mini, any: codex } }',
        'roles:',
        '  planner: { provider: acme, model: acme-1, runner: scripted }',
        'budgets: { task_usd: 1.5, day_usd: 20 }',
        '',
      ].join('\n'),
    );
    const { config } = loadConfig({ env: {}, argv: {}, cwd: dir });
    expect(config.models['flash']?.price).toEqual({ input: 0.1, output: 0.4 });
    expect(config.models['flash']?.fallback).toBeUndefined();
    expect(config.models['mini']).toEqual({
      provider: 'openai',
      model: 'gpt-5-mini',
      runner: 'codex-cli',
      price: { input: 0.25, output: 2 },
      context_tokens: 400_000,
      concurrency: 4,
      fallback: 'flash',
    });
    expect(config.routing.matrix.implementer).toEqual({ any: { docs: 'mini', any: 'codex' } });
    expect(config.routing.matrix.planner.low).toEqual({ any: 'flash' });
    expect(config.role_pins).toEqual({ planner: { provider: 'acme', model: 'acme-1', runner: 'scripted' } });
    expect(config.roles.planner).toEqual({ provider: 'acme', model: 'acme-1', runner: 'scripted' });
    expect(config.roles.implementer).toEqual({ provider: 'openai', model: 'gpt-5-codex', runner: 'codex-cli' });
    expect(config.budgets).toEqual({ task_usd: 1.5, day_usd: 20, on_exceed: 'downgrade' });
  });
});
