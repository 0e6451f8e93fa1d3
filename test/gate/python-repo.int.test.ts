import { mkdtemp, readdir, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GateConfigSchema } from '../../src/gate/gate-options.js';
import { createRatchetGate } from '../../src/gate/ratchet-gate.js';
import type { GateReport, QualityGate } from '../../src/model/gate-report.js';
import { createGitRepo, type GitRepo } from '../helpers/git-repo.js';
import { DEBIAN_PYTHON, taskWorktree, writeFiles } from './fixture-repos.js';
import { pythonChecks, pythonProject } from './python-project.js';
import { pythonApiCommand } from '../../src/gate/api-commands.js';

/**
 * The ratchet end to end on a real Python repository, with Debian's pytest, coverage.py, flake8 and
 * mypy (CI installs python3-pytest, python3-pytest-cov, python3-coverage, flake8 and mypy), and the
 * package's public API as tandem's `ast` script lists it.
 */

const ops = pythonProject['calc/ops.py'] ?? '';
const legacy = pythonProject['calc/legacy.py'] ?? '';
const testOps = pythonProject['tests/test_ops.py'] ?? '';

let repo: GitRepo;
let parent: string;
let gate: QualityGate;
let spawned = 0;

beforeAll(async () => {
  repo = await createGitRepo(pythonProject);
  parent = await realpath(await mkdtemp(join(tmpdir(), 'tandem-gate-py-')));
  gate = createRatchetGate({ settings: GateConfigSchema.parse({ checks: pythonChecks }), baselineDir: join(parent, 'baselines'), onSpawn: () => spawned++ });
});

afterAll(async () => {
  for (const name of await readdir(parent).catch(() => [] as string[]))
    await repo.git('worktree', 'remove', '--force', join(parent, name)).catch(() => undefined);
  await repo.cleanup();
  await rm(parent, { recursive: true, force: true });
});

async function gateChange(
  name: string,
  files: Readonly<Record<string, string | null>>,
  options: { allowBreaking?: boolean; gate?: QualityGate } = {},
): Promise<GateReport> {
  const dir = await taskWorktree(repo, parent, name);
  await writeFiles(dir, files);
  return (options.gate ?? gate).run({
    cwd: dir,
    taskId: name,
    stepId: 'S1',
    baseCommit: repo.head,
    signal: new AbortController().signal,
    allowBreaking: options.allowBreaking ?? false,
  });
}

function body(report: GateReport, check: string): string[] {
  return (report.checks.find((c) => c.name === check)?.excerpt ?? '').split('\n').slice(1);
}

function verdicts(report: GateReport): [string, boolean][] {
  return report.checks.map((c) => [c.name, c.passed]);
}

describe('the ratchet on a Python repository', () => {
  it('passes a clean change; the base’s unused import, moved down a line, is not new', async () => {
    const report = await gateChange('clean', {
      'calc/ops.py': `${ops}\n\ndef mul(a: int, b: int) -> int:\n    return a * b\n`,
      'tests/test_ops.py': `${testOps}\n\ndef test_mul() -> None:\n    from calc.ops import mul\n    assert mul(2, 3) == 6\n`,
      'calc/legacy.py': `"""Old helpers."""\n${legacy}`,
    });

    expect(report.passed).toBe(true);
    expect(report.summary).toBe('4/4 checks passed (SMALL change: 10 lines in 3 files)');
    expect(report.checks.map((c) => [c.name, ...body(report, c.name)])).toEqual([
      ['tests', '7 passed, 0 failed, 0 skipped; line coverage 100.00% → 100.00%'],
      ['lint', '1 warning, none new'],
      ['types', '0 warnings, none new'],
      // calc: add, clamp, sub (its __all__); calc.legacy: total (not the unused import); calc.ops: add, clamp, mul, sub.
      ['api', '8 exports, none removed'],
    ]);
    expect(spawned).toBe(8);
  });

  it('fails a change that adds a flake8 warning', async () => {
    spawned = 0;
    const report = await gateChange('warning', { 'calc/ops.py': ops.replace('    return a + b', '    unused = a\n    return a + b') });

    expect(verdicts(report)).toEqual([
      ['tests', true],
      ['lint', false],
      ['types', true],
      ['api', true],
    ]);
    expect(report.summary).toBe('1 of 4 checks failed: lint (1 new warning) (SMALL change: 1 line in 1 file)');
    expect(body(report, 'lint')).toEqual([
      '1 new warning that the base does not have (base 1, now 2):',
      "calc/ops.py:2:5 F841 local variable 'unused' is assigned to but never used",
    ]);
    expect(report.regressions).toEqual([
      { type: 'warnings_new', check: 'lint', count: 1, items: ["calc/ops.py:2:5 F841 local variable 'unused' is assigned to but never used"] },
    ]);
    expect(spawned).toBe(4);
  });

  it('fails a change that drops line coverage', async () => {
    const report = await gateChange('coverage', {
      'calc/ops.py': `${ops}\n\ndef div(a: int, b: int) -> float:\n    if b == 0:\n        raise ZeroDivisionError("b")\n    return a / b\n`,
    });

    expect(verdicts(report)).toEqual([
      ['tests', false],
      ['lint', true],
      ['types', true],
      ['api', true],
    ]);
    expect(report.summary).toBe('1 of 4 checks failed: tests (line coverage 100.00% → 84.21%) (SMALL change: 6 lines in 1 file)');
    expect(body(report, 'tests')).toEqual([
      'Line coverage dropped: 100.00% → 84.21% (−15.79 points; allowed: 0).',
      'Lines not covered by any test:',
      '  calc/ops.py: 100.00% → 78.57%, uncovered lines 18-20',
    ]);
  });

  it('fails a change that breaks a test, with pytest’s own explanation', async () => {
    const report = await gateChange('broken', { 'calc/ops.py': ops.replace('        return low', '        return high') });

    expect(verdicts(report)).toEqual([
      ['tests', false],
      ['lint', true],
      ['types', true],
      ['api', true],
    ]);
    expect(report.summary).toBe('1 of 4 checks failed: tests (1 failing test) (SMALL change: 2 lines in 1 file)');
    expect(body(report, 'tests')).toEqual([
      '1 failing test:',
      '✗ tests/test_ops.py::TestClamp::test_below',
      '    self = <tests.test_ops.TestClamp object at 0x…>',
      '    ',
      '        def test_below(self) -> None:',
      '    >       assert clamp(-1, 0, 10) == 0',
      '    E       assert 10 == 0',
      '    E        +  where 10 = clamp(-1, 0, 10)',
      '    ',
      '    tests/test_ops.py:15: AssertionError',
      '(line coverage 100.00% → 100.00%)',
    ]);
    expect(report.flaky).toEqual([]);
  });

  it('fails a change that removes an export its users import: the tests cannot be collected, mypy reports the missing name and the API lost it', async () => {
    const report = await gateChange('export', { 'calc/__init__.py': 'from calc.ops import add, clamp\n\n__all__ = ["add", "clamp"]\n' });

    expect(verdicts(report)).toEqual([
      ['tests', false],
      ['lint', true],
      ['types', false],
      ['api', false],
    ]);
    expect(report.summary).toBe(
      '3 of 4 checks failed: tests (1 failing test, line coverage 100.00% → 33.33%), types (1 new warning), api (1 export removed) (SMALL change: 4 lines in 1 file)',
    );
    expect(report.regressions).toEqual([
      { type: 'tests_failed', check: 'tests', count: 1, items: ['tests/test_ops.py (could not be collected)'] },
      { type: 'coverage_drop', check: 'tests', count: 1, items: ['line coverage 100.00% → 33.33% (−66.67 points, tolerance 0)'] },
      { type: 'warnings_new', check: 'types', count: 1, items: ['tests/test_ops.py:1:1 attr-defined Module "calc" has no attribute "sub"'] },
      { type: 'api_breaking', check: 'api', count: 1, items: ['calc: sub (function)'] },
    ]);
    const tests = body(report, 'tests');
    expect(tests.slice(0, 2)).toEqual(['1 failing test:', '✗ tests/test_ops.py (could not be collected)']);
    expect(tests).toContain("    E   ImportError: cannot import name 'sub' from 'calc' (calc/__init__.py)");
    expect(body(report, 'types')).toEqual([
      '1 new warning that the base does not have (base 0, now 1):',
      'tests/test_ops.py:1:1 attr-defined Module "calc" has no attribute "sub"',
    ]);
  });

  it('fails a change that renames a public function everywhere, which only the API check sees, and passes it when the task may break the API', async () => {
    const rename = {
      'calc/ops.py': ops.replace('def sub(', 'def subtract('),
      'calc/__init__.py': 'from calc.ops import add, clamp, subtract\n\n__all__ = ["add", "clamp", "subtract"]\n',
      'tests/test_ops.py': testOps
        .replace('from calc import add, clamp, sub\n', 'from calc import add, clamp, subtract\n')
        .replace('assert sub(5, 3)', 'assert subtract(5, 3)'),
    };
    const report = await gateChange('rename', rename);

    expect(verdicts(report)).toEqual([
      ['tests', true],
      ['lint', true],
      ['types', true],
      ['api', false],
    ]);
    expect(report.summary).toBe('1 of 4 checks failed: api (2 exports removed) (SMALL change: 10 lines in 3 files)');
    expect(body(report, 'api')).toEqual([
      'The public API lost 2 exports that the base has (a breaking change; only a task allowed to break the API may do this):',
      '  calc: sub (function)',
      '  calc.ops: sub (function)',
    ]);
    expect(report.regressions).toEqual([{ type: 'api_breaking', check: 'api', count: 2, items: ['calc: sub (function)', 'calc.ops: sub (function)'] }]);

    const apiOnly = createRatchetGate({
      settings: GateConfigSchema.parse({ checks: pythonChecks.filter((c) => c.name === 'api') }),
      baselineDir: join(parent, 'baselines'),
    });
    const allowed = await gateChange('rename-allowed', rename, { allowBreaking: true, gate: apiOnly });
    expect(allowed.passed).toBe(true);
    expect(body(allowed, 'api')).toEqual(['7 exports; 2 exports removed, allowed for this task: calc: sub (function), calc.ops: sub (function)']);
  });

  it('scopes the API to what a module lists in `__all__`: an unlisted helper may go, a listed name may not', async () => {
    const shapes = await createGitRepo({
      'shapes/__init__.py': 'from shapes.area import square\n\n__all__ = ["square"]\n',
      'shapes/area.py':
        '__all__ = ["square"]\n\n\ndef square(side: int) -> int:\n    return scale(side, side)\n\n\ndef scale(a: int, b: int) -> int:\n    return a * b\n',
    });
    const dir = await realpath(await mkdtemp(join(tmpdir(), 'tandem-gate-py-all-')));
    try {
      const apiOnly = createRatchetGate({
        settings: GateConfigSchema.parse({ checks: [{ ...pythonChecks.find((c) => c.name === 'api'), command: pythonApiCommand(DEBIAN_PYTHON, ['shapes']) }] }),
        baselineDir: join(dir, 'baselines'),
      });
      const change = async (name: string, files: Readonly<Record<string, string>>): Promise<GateReport> => {
        const cwd = await taskWorktree(shapes, dir, name);
        await writeFiles(cwd, files);
        return apiOnly.run({ cwd, taskId: name, stepId: 'S1', baseCommit: shapes.head, signal: new AbortController().signal, allowBreaking: false });
      };

      const inlined = await change('inline', { 'shapes/area.py': '__all__ = ["square"]\n\n\ndef square(side: int) -> int:\n    return side * side\n' });
      expect(inlined.passed, inlined.summary).toBe(true);
      expect(body(inlined, 'api')).toEqual(['2 exports, none removed']);

      const unlisted = await change('unlist', { 'shapes/__init__.py': 'from shapes.area import square\n\n__all__: list[str] = []\n' });
      expect(unlisted.passed).toBe(false);
      expect(unlisted.regressions).toEqual([{ type: 'api_breaking', check: 'api', count: 1, items: ['shapes: square (function)'] }]);
    } finally {
      for (const name of ['inline', 'unlist']) await shapes.git('worktree', 'remove', '--force', join(dir, name)).catch(() => undefined);
      await shapes.cleanup();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
