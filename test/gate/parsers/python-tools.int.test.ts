import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pythonApiCommand } from '../../../src/gate/api-commands.js';
import type { ParseResult } from '../../../src/gate/parsers/parsed-output.js';
import { TEXT_PARSERS } from '../../../src/gate/parsers/registry.js';
import { DEBIAN_PYTHON } from '../fixture-repos.js';
import { readText, runTool, toolProject } from './run-tool.js';

/**
 * The Python-side parsers on real output of Debian's pytest (JUnit XML), coverage.py through
 * pytest-cov (Cobertura XML and lcov), flake8, mypy and tandem's own API script. ruff is not
 * packaged for Debian: its parser is tested on recorded output (ruff-json.test.ts).
 */

const files: Record<string, string> = {
  'pkg/__init__.py': '',
  'pkg/calc.py': 'import os\n\n\ndef half(a: int) -> int:\n    if a < 0:\n        return 0\n    return a // 2\n\n\ndef name() -> str:\n    return 42\n',
  'tests/__init__.py': '',
  'tests/test_calc.py': `import pytest
from pkg.calc import half


def test_half() -> None:
    assert half(4) == 2


def test_half_fails() -> None:
    assert half(4) == 3


@pytest.mark.skip(reason="later")
def test_skipped() -> None:
    pass


class TestGroup:
    @pytest.mark.parametrize("x", [1, 2])
    def test_param(self, x: int) -> None:
        assert x > 0
`,
};

let project: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  project = await toolProject(files);
});
afterAll(async () => project.cleanup());

const parse = (parser: keyof typeof TEXT_PARSERS, text: string): ParseResult => TEXT_PARSERS[parser]({ text, stderr: '', root: project.dir });
const env = { PYTHONDONTWRITEBYTECODE: '1', COVERAGE_FILE: 'out/.coverage' };

describe('pytest --junitxml with pytest-cov', () => {
  it('reads test ids as pytest prints them, failures with their explanation, and the coverage in both formats', async () => {
    const out = await runTool(
      project.dir,
      `mkdir -p out && ${DEBIAN_PYTHON} -m pytest -q -p no:cacheprovider --junitxml=out/junit.xml --cov=pkg --cov-report=xml:out/coverage.xml --cov-report=lcov:out/coverage.lcov`,
      env,
    );
    expect(out.exitCode).toBe(1);
    const tests = parse('junit-xml', await readText(join(project.dir, 'out/junit.xml')));
    if (!tests.ok) throw new Error(tests.reason);
    expect(tests.output.tests?.map((t) => [t.name, t.status, t.rerun?.file])).toEqual([
      ['tests/test_calc.py::test_half', 'passed', 'tests/test_calc.py::test_half'],
      ['tests/test_calc.py::test_half_fails', 'failed', 'tests/test_calc.py::test_half_fails'],
      ['tests/test_calc.py::test_skipped', 'skipped', 'tests/test_calc.py::test_skipped'],
      ['tests/test_calc.py::TestGroup::test_param[1]', 'passed', 'tests/test_calc.py::TestGroup::test_param[1]'],
      ['tests/test_calc.py::TestGroup::test_param[2]', 'passed', 'tests/test_calc.py::TestGroup::test_param[2]'],
    ]);
    expect(tests.output.tests?.[1]?.message).toBe(
      'def test_half_fails() -> None:\n>       assert half(4) == 3\nE       assert 2 == 3\nE        +  where 2 = half(4)\n\ntests/test_calc.py:10: AssertionError',
    );

    const files = {
      'pkg/__init__.py': { lines: { covered: 0, total: 0, pct: 100 }, uncovered: [] },
      'pkg/calc.py': { lines: { covered: 5, total: 7, pct: 71.43 }, uncovered: [6, 11] },
    };
    const coverage = { lines: { covered: 5, total: 7, pct: 71.43 }, files };
    expect(parse('cobertura', await readText(join(project.dir, 'out/coverage.xml')))).toEqual({ ok: true, output: { coverage } });
    expect(parse('lcov', await readText(join(project.dir, 'out/coverage.lcov')))).toEqual({ ok: true, output: { coverage } });
  });

  it('reads a module that cannot be imported as one failed test', async () => {
    const broken = await toolProject({ 'tests/__init__.py': '', 'tests/test_broken.py': 'import missing_module\n' });
    try {
      await runTool(broken.dir, `${DEBIAN_PYTHON} -m pytest -q -p no:cacheprovider --junitxml=junit.xml`, env);
      const result = TEXT_PARSERS['junit-xml']({ text: await readText(join(broken.dir, 'junit.xml')), stderr: '', root: broken.dir });
      if (!result.ok) throw new Error(result.reason);
      expect(result.output.tests?.map((t) => [t.name, t.file, t.status])).toEqual([
        ['tests/test_broken.py (could not be collected)', 'tests/test_broken.py', 'failed'],
      ]);
      expect(result.output.tests?.[0]?.message?.split('\n').at(-1)).toBe("E   ModuleNotFoundError: No module named 'missing_module'");
    } finally {
      await broken.cleanup();
    }
  });
});

describe('flake8 and mypy', () => {
  it('reads flake8 findings', async () => {
    const out = await runTool(project.dir, `${DEBIAN_PYTHON} -m flake8 pkg`);
    expect(out.exitCode).toBe(1);
    expect(parse('flake8', out.stdout)).toEqual({
      ok: true,
      output: { warnings: [{ rule: 'F401', file: 'pkg/calc.py', line: 1, column: 1, message: "'os' imported but unused", severity: 'error' }] },
    });
  });

  it('reads mypy errors with their codes and columns, and refuses output that is not mypy’s', async () => {
    const out = await runTool(project.dir, `${DEBIAN_PYTHON} -m mypy --cache-dir=out/mypy --show-column-numbers pkg`);
    expect(out.exitCode).toBe(1);
    expect(parse('mypy', out.stdout)).toEqual({
      ok: true,
      output: {
        warnings: [
          {
            rule: 'return-value',
            file: 'pkg/calc.py',
            line: 11,
            column: 12,
            message: 'Incompatible return value type (got "int", expected "str")',
            severity: 'error',
          },
        ],
      },
    });
    const missing = await runTool(project.dir, `${DEBIAN_PYTHON} -m mypy --cache-dir=out/mypy nope.py`);
    // mypy says so on stderr and exits 2 with nothing on stdout: no findings, an unexplained exit code the gate fails on.
    expect([missing.exitCode, missing.stdout, missing.stderr]).toEqual([2, '', "mypy: can't read file 'nope.py': No such file or directory\n"]);
    expect(TEXT_PARSERS.mypy({ text: missing.stderr, stderr: '', root: project.dir })).toEqual({
      ok: false,
      reason: 'none of its lines reads as a mypy diagnostic',
    });
  });
});

describe('the Python API script (python-api)', () => {
  const library: Record<string, string> = {
    'calc/__init__.py':
      'from math import floor\nfrom calc.ops import add\nfrom .shapes import Square as Square\nfrom . import sub\n\n__all__ = ["add", "floor", "sub", "Square", "missing"]\n',
    'calc/ops.py': `import os
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from collections import OrderedDict

PI: float = 3.14
_HIDDEN = 1
A, (B, C) = 1, (2, 3)


def add(a: int, b: int) -> int:
    return a + b


async def fetch(url: str, *, timeout: float = 1.0) -> bytes: ...


def _private() -> None: ...


try:
    from fast import speedy
except ImportError:
    def speedy() -> None: ...
`,
    'calc/shapes.py': `from dataclasses import dataclass

__all__ = ["Shape"]
__all__ += ["Square"]


class Shape:
    def area(self) -> float: ...
    def _hidden(self) -> None: ...


@dataclass
class Square(Shape, metaclass=type):
    side: float
    _cache: int = 0

    def area(self) -> float:
        return self.side ** 2
`,
    'calc/sub/__init__.py': 'X = 1\n',
    'calc/_private/mod.py': 'def p() -> None: ...\n',
    'calc/_helpers.py': 'def h() -> None: ...\n',
    'calc/test_calc.py': 'def test_x() -> None: ...\n',
  };

  it('lists public names by module: __all__ when static, else public names; re-exports resolved; class members; private modules and tests left out', async () => {
    const project = await toolProject(library);
    try {
      const out = await runTool(project.dir, pythonApiCommand(DEBIAN_PYTHON, ['calc']));
      expect([out.exitCode, out.stderr]).toEqual([0, '']);
      const result = parse('python-api', out.stdout);
      if (!result.ok) throw new Error(result.reason);
      expect(result.output.exports?.map((e) => [e.entry, e.name, e.kind, e.signature])).toEqual([
        ['calc', 'add', 'function', 'def add(a: int, b: int) -> int'],
        // A re-export from outside the scanned packages keeps its import as the signature.
        ['calc', 'floor', 'import', 'from math import floor'],
        // Listed in __all__ but bound nowhere: still part of what the module promises.
        ['calc', 'missing', 'name', 'missing'],
        ['calc', 'Square', 'class', 'class Square(Shape, metaclass=type)'],
        ['calc', 'Square.area', 'method', 'def area(self) -> float'],
        ['calc', 'Square.side', 'attribute', 'side: float'],
        ['calc', 'sub', 'module', 'module calc.sub'],
        ['calc.ops', 'A', 'variable', 'A'],
        ['calc.ops', 'add', 'function', 'def add(a: int, b: int) -> int'],
        ['calc.ops', 'B', 'variable', 'B'],
        ['calc.ops', 'C', 'variable', 'C'],
        ['calc.ops', 'fetch', 'function', 'async def fetch(url: str, *, timeout: float=1.0) -> bytes'],
        ['calc.ops', 'PI', 'variable', 'PI: float'],
        ['calc.ops', 'speedy', 'function', 'def speedy() -> None'],
        ['calc.shapes', 'Shape', 'class', 'class Shape'],
        ['calc.shapes', 'Shape.area', 'method', 'def area(self) -> float'],
        ['calc.shapes', 'Square', 'class', 'class Square(Shape, metaclass=type)'],
        ['calc.shapes', 'Square.area', 'method', 'def area(self) -> float'],
        ['calc.shapes', 'Square.side', 'attribute', 'side: float'],
        ['calc.sub', 'X', 'variable', 'X'],
      ]);
    } finally {
      await project.cleanup();
    }
  });

  it('fails on a module it cannot parse, naming it, with nothing on stdout, which the parser refuses', async () => {
    const project = await toolProject({ 'pkg/__init__.py': '', 'pkg/bad.py': 'def broken(:\n' });
    try {
      const out = await runTool(project.dir, pythonApiCommand(DEBIAN_PYTHON, ['pkg']));
      expect([out.exitCode, out.stdout, out.stderr]).toEqual([1, '', 'pkg/bad.py:1: SyntaxError: invalid syntax\n']);
      expect(parse('python-api', out.stdout)).toEqual({ ok: false, reason: 'the output is empty' });
    } finally {
      await project.cleanup();
    }
  });
});
