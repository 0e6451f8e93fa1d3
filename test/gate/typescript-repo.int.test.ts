import { mkdtemp, readdir, readlink, realpath, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GateConfigSchema } from '../../src/gate/gate-options.js';
import { createRatchetGate } from '../../src/gate/ratchet-gate.js';
import { gateEscalation, type GateReport, type QualityGate } from '../../src/model/gate-report.js';
import { createGitRepo, type GitRepo } from '../helpers/git-repo.js';
import { NODE_MODULES, taskWorktree, writeFiles } from './fixture-repos.js';
import { typescriptChecks, typescriptProject } from './typescript-project.js';

/**
 * The ratchet end to end on a real TypeScript repository: tsc, ESLint, Vitest with v8 coverage and
 * the declaration output, each change made in its own task worktree from the same base commit, whose
 * baseline is measured once and then read from the cache.
 */

const math = typescriptProject['src/math.ts'] ?? '';
const mathTest = typescriptProject['src/math.test.ts'] ?? '';
const legacy = typescriptProject['src/legacy.ts'] ?? '';

let repo: GitRepo;
let parent: string;
let gate: QualityGate;
let spawned = 0;

beforeAll(async () => {
  repo = await createGitRepo(typescriptProject);
  parent = await realpath(await mkdtemp(join(tmpdir(), 'tandem-gate-ts-')));
  gate = createRatchetGate({
    settings: GateConfigSchema.parse({ checks: typescriptChecks }),
    baselineDir: join(parent, 'baselines'),
    scratchDir: join(parent, 'scratch'),
    onSpawn: () => spawned++,
  });
});

afterAll(async () => {
  const worktrees = await readdir(parent).catch(() => [] as string[]);
  for (const name of worktrees) await repo.git('worktree', 'remove', '--force', join(parent, name)).catch(() => undefined);
  await repo.cleanup();
  await rm(parent, { recursive: true, force: true });
});

async function gateChange(
  name: string,
  files: Readonly<Record<string, string | null>>,
  options: { allowBreaking?: boolean; gate?: QualityGate; coverageMin?: number } = {},
): Promise<GateReport> {
  const dir = await taskWorktree(repo, parent, name, { linkNodeModules: true });
  await writeFiles(dir, files);
  return (options.gate ?? gate).run({
    cwd: dir,
    taskId: name,
    stepId: 'S1',
    baseCommit: repo.head,
    signal: new AbortController().signal,
    allowBreaking: options.allowBreaking ?? false,
    ...(options.coverageMin === undefined ? {} : { coverageMin: options.coverageMin }),
  });
}

/** The excerpt without its first line, which carries the command and its duration. */
function body(report: GateReport, check: string): string {
  return (report.checks.find((c) => c.name === check)?.excerpt ?? '').split('\n').slice(1).join('\n');
}

function verdicts(report: GateReport): [string, boolean][] {
  return report.checks.map((c) => [c.name, c.passed]);
}

// The first test measures the base too (vitest with coverage, eslint, tsc, the API) on a busy 2-core machine.
describe('the ratchet on a TypeScript repository', { timeout: 180_000 }, () => {
  it('passes a clean change, measuring the base once; the base’s own lint error that moved down a line is not new', async () => {
    const report = await gateChange('clean', {
      'src/math.ts': `${math}\nexport function mul(a: number, b: number): number {\n  return a * b;\n}\n`,
      'src/math.test.ts': `${mathTest.replace("import { add, clamp, sub } from './math.js';", "import { add, clamp, mul, sub } from './math.js';")}\nit('multiplies', () => expect(mul(2, 3)).toBe(6));\n`,
      'src/legacy.ts': `// Sums numbers the old way.\n${legacy}`,
    });

    expect(report.passed).toBe(true);
    expect(report.summary).toBe('4/4 checks passed (SMALL change: 9 lines in 3 files)');
    expect(report.change).toEqual({ size: 'SMALL', lines: 9, files: 3, areas: ['source', 'tests'] });
    expect(report.regressions).toEqual([]);
    expect(body(report, 'types')).toBe('0 warnings, none new');
    expect(body(report, 'lint')).toBe('1 warning, none new');
    expect(body(report, 'tests')).toBe('7 passed, 0 failed, 0 skipped; line coverage 100.00% → 100.00%');
    expect(body(report, 'api')).toBe('4 exports, none removed');
    // 4 checks in the base's worktree, 4 in the task's.
    expect(spawned).toBe(8);
    expect(await readdir(join(parent, 'baselines'))).toEqual([`${repo.head}.json`]);
    expect(await readdir(join(parent, 'scratch'))).toEqual([]);
    expect((await repo.git('worktree', 'list')).split('\n')).toHaveLength(2);
  });

  it('fails a change that adds a lint warning, naming it by file:line and rule', async () => {
    spawned = 0;
    const report = await gateChange('warning', { 'src/math.ts': math.replace('  return a + b;', '  const unused = a;\n  return a + b;') });

    expect(report.passed).toBe(false);
    expect(verdicts(report)).toEqual([
      ['types', true],
      ['lint', false],
      ['tests', true],
      ['api', true],
    ]);
    expect(report.summary).toBe('1 of 4 checks failed: lint (1 new warning) (SMALL change: 1 line in 1 file)');
    expect(body(report, 'lint')).toBe(
      [
        '1 new warning that the base does not have (base 1, now 2):',
        "src/math.ts:2:9 @typescript-eslint/no-unused-vars 'unused' is assigned a value but never used.",
      ].join('\n'),
    );
    expect(report.regressions).toEqual([
      {
        type: 'warnings_new',
        check: 'lint',
        count: 1,
        items: ["src/math.ts:2:9 @typescript-eslint/no-unused-vars 'unused' is assigned a value but never used."],
      },
    ]);
    // The baseline came from the cache: only the task's own four checks ran.
    expect(spawned).toBe(4);
  });

  it('fails a change that drops line coverage, naming the uncovered lines, and one under the task’s minimum coverage', async () => {
    const report = await gateChange(
      'coverage',
      {
        'src/math.ts': `${math}\nexport function div(a: number, b: number): number {\n  if (b === 0) {\n    throw new Error('division by zero');\n  }\n  return a / b;\n}\n`,
      },
      { coverageMin: 80 },
    );

    expect(verdicts(report)).toEqual([
      ['types', true],
      ['lint', true],
      ['tests', false],
      ['api', true],
    ]);
    expect(report.summary).toBe(
      '1 of 4 checks failed: tests (line coverage 100.00% → 78.57%, line coverage 78.57% < minimum 80.00%) (SMALL change: 7 lines in 1 file)',
    );
    expect(body(report, 'tests')).toBe(
      [
        'Line coverage dropped: 100.00% → 78.57% (−21.43 points; allowed: 0).',
        'Lines not covered by any test:',
        '  src/math.ts: 100.00% → 70.00%, uncovered lines 20-21, 23',
        'Line coverage 78.57% is below the required minimum of 80.00%: add tests for the code this step touches.',
      ].join('\n'),
    );
    expect(report.regressions).toEqual([
      { type: 'coverage_drop', check: 'tests', count: 1, items: ['line coverage 100.00% → 78.57% (−21.43 points, tolerance 0)'] },
      { type: 'coverage_below_target', check: 'tests', count: 1, items: ['line coverage 78.57% < minimum 80.00%'] },
    ]);
  });

  it('fails a change that breaks a test, with the test’s name and assertion; a re-run alone fails too, so it is not flaky', async () => {
    spawned = 0;
    const report = await gateChange('broken', { 'src/math.ts': math.replace('    return min;', '    return max;') });

    expect(verdicts(report)).toEqual([
      ['types', true],
      ['lint', true],
      ['tests', false],
      ['api', true],
    ]);
    expect(report.summary).toBe('1 of 4 checks failed: tests (1 failing test) (SMALL change: 2 lines in 1 file)');
    expect(body(report, 'tests')).toBe(
      [
        '1 failing test:',
        '✗ math › clamps below the minimum  [src/math.test.ts]',
        '    AssertionError: expected 10 to be +0 // Object.is equality',
        '        at src/math.test.ts:8:65',
        '(line coverage 100.00% → 100.00%)',
      ].join('\n'),
    );
    expect(report.regressions).toEqual([{ type: 'tests_failed', check: 'tests', count: 1, items: ['math › clamps below the minimum'] }]);
    expect(report.flaky).toEqual([]);
    // Four checks and one re-run of the failing test.
    expect(spawned).toBe(5);
  });

  it('fails a change that removes a public export, and passes it when the task may break the API', async () => {
    const removeSub = { 'src/index.ts': "export { add, clamp } from './math.js';\nexport { legacyTotal } from './legacy.js';\n" };
    const report = await gateChange('export', removeSub);

    expect(verdicts(report)).toEqual([
      ['types', true],
      ['lint', true],
      ['tests', true],
      ['api', false],
    ]);
    expect(report.summary).toBe('1 of 4 checks failed: api (1 export removed) (SMALL change: 2 lines in 1 file)');
    expect(body(report, 'api')).toBe(
      [
        'The public API lost 1 export that the base has (a breaking change; only a task allowed to break the API may do this):',
        '  index.d.ts: sub (function)',
      ].join('\n'),
    );
    expect(report.regressions).toEqual([{ type: 'api_breaking', check: 'api', count: 1, items: ['index.d.ts: sub (function)'] }]);
    // A breaking change is for a person to allow, not for the implementer to retry.
    expect(report.verdict).toBe('breaking_change');
    expect(gateEscalation(report)).toEqual({
      kind: 'breaking_change',
      reason:
        'the step removes public exports (a breaking change) and the task does not set allow_breaking: api: index.d.ts: sub (function); approve to accept it, or give feedback',
    });

    const apiOnly = createRatchetGate({
      settings: GateConfigSchema.parse({ checks: typescriptChecks.filter((c) => c.name === 'api') }),
      baselineDir: join(parent, 'baselines'),
    });
    const allowed = await gateChange('export-allowed', removeSub, { allowBreaking: true, gate: apiOnly });
    expect(allowed.passed).toBe(true);
    expect(body(allowed, 'api')).toBe('3 exports; 1 export removed, allowed for this task: index.d.ts: sub (function)');
  });

  it('fails a 1-line change that breaks a test even with the checks an older `tandem init` wrote (tests from SMALL, the API from MEDIUM)', async () => {
    const olderInit = typescriptChecks.map((c) =>
      c.name === 'tests'
        ? { ...c, runs_on: ['SMALL' as const, 'MEDIUM' as const, 'LARGE' as const] }
        : c.name === 'api'
          ? { ...c, runs_on: ['MEDIUM' as const, 'LARGE' as const] }
          : c,
    );
    const older = createRatchetGate({ settings: GateConfigSchema.parse({ checks: olderInit }), baselineDir: join(parent, 'baselines') });
    const report = await gateChange('one-line', { 'src/math.ts': math.replace('  return a + b;', '  return a - b;') }, { gate: older });

    expect(report.passed).toBe(false);
    expect(report.verdict).toBe('failed');
    expect(report.change).toEqual({ size: 'SMALL', lines: 2, files: 1, areas: ['source'] });
    // Tests and the API ran although their runs_on left them out: no change class overrides them.
    expect(verdicts(report)).toEqual([
      ['types', true],
      ['lint', true],
      ['tests', false],
      ['api', true],
    ]);
    expect(report.regressions?.map((r) => [r.type, r.items])).toEqual([['tests_failed', ['math › adds']]]);
  });

  it('calls a comment-only change TRIVIAL and passes it without tests (as `tandem init` sets them), leaving out tandem’s own state dir in the worktree', async () => {
    const notTrivial = ['SMALL' as const, 'MEDIUM' as const, 'LARGE' as const];
    const asInit = typescriptChecks.map((c) => (c.name === 'tests' || c.name === 'api' ? { ...c, runs_on: notTrivial } : c));
    spawned = 0;
    const initGate = createRatchetGate({
      settings: GateConfigSchema.parse({ checks: asInit }),
      baselineDir: join(parent, 'baselines'),
      onSpawn: () => spawned++,
    });
    const report = await gateChange(
      'comment',
      {
        'src/math.ts': `/**\n * Arithmetic for the calculator.\n */\n${math.replace('  return a + b;', '  // the sum\n  return a + b;  ')}`,
        '.tandem/gate-baselines/0123.json': '{"checks":{}}\n',
        '.tandem/logs/run.log': 'one\ntwo\nthree\n',
      },
      { gate: initGate },
    );

    expect(report.passed).toBe(true);
    expect(report.verdict).toBe('passed');
    expect(report.change).toEqual({ size: 'TRIVIAL', lines: 6, files: 1, areas: ['source'] });
    expect(report.summary).toBe('2/2 checks passed (TRIVIAL change: 6 lines in 1 file, 2 skipped)');
    expect(report.skipped?.map((s) => s.name)).toEqual(['tests', 'api']);
    expect(verdicts(report)).toEqual([
      ['types', true],
      ['lint', true],
    ]);
  });

  it('gives a worktree outside the repository the repository’s node_modules, and says so', async () => {
    await symlink(NODE_MODULES, join(repo.dir, 'node_modules'), 'dir');
    try {
      const dir = await taskWorktree(repo, parent, 'no-deps');
      await writeFiles(dir, { 'src/math.ts': `${math}\nexport const zero = 0;\n` });
      const report = await gate.run({ cwd: dir, taskId: 'no-deps', stepId: 'S1', baseCommit: repo.head, signal: new AbortController().signal });

      expect(report.verdict).toBe('passed');
      expect(report.dependencies).toEqual([`node_modules: linked from ${join(repo.dir, 'node_modules')}`]);
      expect(await readlink(join(dir, 'node_modules'))).toBe(await realpath(NODE_MODULES));
      // Every tool ran from the linked folder.
      expect(verdicts(report)).toEqual([
        ['types', true],
        ['lint', true],
        ['tests', true],
        ['api', true],
      ]);
      expect(await repo.git('-C', dir, 'status', '--porcelain')).toBe('M src/math.ts');
    } finally {
      await rm(join(repo.dir, 'node_modules'), { force: true });
    }
  });

  it('reports a check that cannot start as `environment`, with the fix, never as the change’s fault', async () => {
    const missing = createRatchetGate({
      settings: GateConfigSchema.parse({
        checks: [...typescriptChecks.filter((c) => c.name === 'lint'), { name: 'format', kind: 'lint', command: 'prettier-not-installed --check .' }],
      }),
      baselineDir: join(parent, 'baselines'),
    });
    const report = await gateChange('env', { 'src/math.ts': math.replace('  return a + b;', '  return b + a;') }, { gate: missing });

    expect(report.passed).toBe(false);
    expect(report.verdict).toBe('environment');
    expect(verdicts(report)).toEqual([
      ['lint', true],
      ['format', false],
    ]);
    const format = report.checks[1];
    expect(format?.environment).toEqual({
      error: 'sh: 1: prettier-not-installed: not found',
      fix: "install `prettier-not-installed` or put it on PATH for tandem, or change the check's command in .tandem/quality.yaml",
    });
    expect(report.regressions).toEqual([{ type: 'environment', check: 'format', count: 1, items: ['sh: 1: prettier-not-installed: not found'] }]);
    expect(gateEscalation(report)?.kind).toBe('environment');
    expect(report.summary).toMatch(/^environment: format could not run \(sh: 1: prettier-not-installed: not found\); fix: install `prettier-not-installed`/);
  });

  it('reports a type error once, by the types check: the API check still reads the declarations tsc wrote', async () => {
    const report = await gateChange('type-error', { 'src/legacy.ts': legacy.replace('let unchanged = total;', 'let unchanged: string = total;') });

    expect(report.verdict).toBe('failed');
    expect(verdicts(report)).toEqual([
      ['types', false],
      ['lint', true],
      ['tests', true],
      ['api', true],
    ]);
    expect(report.regressions).toEqual([
      {
        type: 'warnings_new',
        check: 'types',
        count: 2,
        items: [
          "src/legacy.ts:4:7 TS2322 Type 'number' is not assignable to type 'string'.",
          "src/legacy.ts:5:3 TS2322 Type 'string' is not assignable to type 'number'.",
        ],
      },
    ]);
    expect(body(report, 'api')).toBe("4 exports, none removed; exit 2; the API was read all the same (errors are the types check's to report)");
  });
});
