import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { InputError, type InputIssue } from '../../src/platform/errors.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tandem-config-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function issuesOf(run: () => unknown): InputIssue[] {
  try {
    run();
  } catch (error) {
    if (error instanceof InputError) return [...error.issues];
    throw error;
  }
  throw new Error('expected an InputError');
}

describe('loadConfig', () => {
  it('gives the shipped defaults without a config file', () => {
    const { config, file, stateDir } = loadConfig({ env: {}, argv: {}, cwd: dir });
    expect(file).toBeUndefined();
    expect(stateDir).toBe(join(dir, '.tandem'));
    expect(config.concurrency).toBe(2);
    expect(config.limits).toMatchObject({ max_attempts: 3, max_plan_rounds: 3, max_output_repairs: 2 });
    expect(config.roles['code-reviewer'].model).not.toBe(config.roles.implementer.model);
  });

  it('layers file < environment < flags', async () => {
    await writeFile(join(dir, 'tandem.config.yaml'), 'concurrency: 3\nstate_dir: from-file\nlog_level: debug\n');
    const fileOnly = loadConfig({ env: {}, argv: {}, cwd: dir });
    expect(fileOnly.config.concurrency).toBe(3);
    expect(fileOnly.stateDir).toBe(join(dir, 'from-file'));
    const withEnv = loadConfig({ env: { TANDEM_CONCURRENCY: '5', TANDEM_STATE_DIR: '/abs/state' }, argv: {}, cwd: dir });
    expect(withEnv.config.concurrency).toBe(5);
    expect(withEnv.stateDir).toBe('/abs/state');
    const withFlags = loadConfig({ env: { TANDEM_CONCURRENCY: '5' }, argv: { concurrency: 7, runner: 'scripted', script: 's.yaml' }, cwd: dir });
    expect(withFlags.config.concurrency).toBe(7);
    expect(withFlags.config.runner_override).toBe('scripted');
    expect(withFlags.config.runners.scripted.script).toBe(join(dir, 's.yaml'));
  });

  it('names the line and field of an unknown key, with a suggestion', async () => {
    await writeFile(join(dir, 'tandem.config.yaml'), 'concurrency: 2\ngate:\n  chekcs: []\n');
    expect(issuesOf(() => loadConfig({ env: {}, argv: {}, cwd: dir }))).toEqual([
      { file: join(dir, 'tandem.config.yaml'), line: 3, column: 3, field: 'gate.chekcs', message: 'unknown field `chekcs` (did you mean `checks`?)' },
    ]);
  });

  it('names a wrong-typed and an out-of-range value', async () => {
    await writeFile(join(dir, 'c.yaml'), 'concurrency: many\nlimits:\n  max_attempts: 0\n');
    const issues = issuesOf(() => loadConfig({ env: {}, argv: { config: 'c.yaml' }, cwd: dir }));
    expect(issues.map((i) => [i.line, i.field, i.message])).toEqual([
      [1, 'concurrency', 'must be a number, got a string'],
      [3, 'limits.max_attempts', 'must be at least 1, got 0'],
    ]);
  });

  it('reports invalid YAML at its line', async () => {
    await writeFile(join(dir, 'tandem.config.yaml'), 'concurrency: 2\nroles: [unclosed\n');
    const [issue] = issuesOf(() => loadConfig({ env: {}, argv: {}, cwd: dir }));
    expect(issue?.line).toBe(3);
    expect(issue?.message).toMatch(/^invalid YAML: /);
  });

  it('refuses a reviewer on the author’s model', async () => {
    await writeFile(
      join(dir, 'tandem.config.yaml'),
      'roles:\n  planner: { provider: a, model: m1, runner: r }\n  plan-reviewer: { provider: b, model: m2, runner: r }\n  implementer: { provider: a, model: same, runner: r }\n  code-reviewer: { provider: b, model: same, runner: r }\n',
    );
    expect(issuesOf(() => loadConfig({ env: {}, argv: {}, cwd: dir }))).toEqual([
      {
        file: join(dir, 'tandem.config.yaml'),
        line: 5,
        column: 40,
        field: 'roles.code-reviewer.model',
        message: 'the code-reviewer must use a different model than the implementer (both are same)',
      },
    ]);
  });

  it('says which config file is missing', () => {
    const [issue] = issuesOf(() => loadConfig({ env: { TANDEM_CONFIG: 'nope.yaml' }, argv: {}, cwd: dir }));
    expect(issue).toEqual({ file: join(dir, 'nope.yaml'), message: 'cannot read config file: ENOENT' });
  });

  it('rejects a non-numeric TANDEM_CONCURRENCY naming the variable', () => {
    expect(issuesOf(() => loadConfig({ env: { TANDEM_CONCURRENCY: 'lots' }, argv: {}, cwd: dir }))).toEqual([
      { file: 'environment', field: 'TANDEM_CONCURRENCY', message: 'must be a number, got "lots"' },
    ]);
  });
});
