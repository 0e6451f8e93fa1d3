import type { GateCheckConfig } from '../../src/gate/gate-options.js';
import { pythonApiCommand } from '../../src/gate/api-commands.js';
import { DEBIAN_PYTHON } from './fixture-repos.js';

/**
 * A small Python package checked by pytest (JUnit XML) with coverage.py (Cobertura XML), flake8
 * and mypy, all from Debian's packages, and whose public API tandem's `ast` script reads.
 * `calc/legacy.py` carries a flake8 finding the base already has.
 */
export const pythonProject: Readonly<Record<string, string>> = {
  '.gitignore': '__pycache__/\n',
  'setup.cfg': '[flake8]\nmax-line-length = 100\n\n[mypy]\nstrict = True\n',
  'calc/__init__.py': 'from calc.ops import add, clamp, sub\n\n__all__ = ["add", "clamp", "sub"]\n',
  'calc/ops.py': `def add(a: int, b: int) -> int:
    return a + b


def sub(a: int, b: int) -> int:
    return a - b


def clamp(value: int, low: int, high: int) -> int:
    if value < low:
        return low
    if value > high:
        return high
    return value
`,
  'calc/legacy.py': `import os


def total(values: list[int]) -> int:
    return sum(values)
`,
  'tests/__init__.py': '',
  'tests/test_ops.py': `from calc import add, clamp, sub
from calc.legacy import total


def test_add() -> None:
    assert add(2, 3) == 5


def test_sub() -> None:
    assert sub(5, 3) == 2


class TestClamp:
    def test_below(self) -> None:
        assert clamp(-1, 0, 10) == 0

    def test_above(self) -> None:
        assert clamp(11, 0, 10) == 10

    def test_inside(self) -> None:
        assert clamp(5, 0, 10) == 5


def test_total() -> None:
    assert total([1, 2]) == 3
`,
};

const pytest = `COVERAGE_FILE=$TANDEM_GATE_OUT/.coverage PYTHONDONTWRITEBYTECODE=1 ${DEBIAN_PYTHON} -m pytest -q -p no:cacheprovider --junitxml=$TANDEM_GATE_OUT/junit.xml`;

export const pythonChecks: GateCheckConfig[] = [
  {
    name: 'tests',
    kind: 'tests',
    parser: 'junit-xml',
    report: '$TANDEM_GATE_OUT/junit.xml',
    command: `${pytest} --cov=calc --cov-report=xml:$TANDEM_GATE_OUT/coverage.xml`,
    coverage: { parser: 'cobertura', report: '$TANDEM_GATE_OUT/coverage.xml' },
    rerun: `${pytest} {file}`,
    timeout_ms: 60_000,
  },
  { name: 'lint', kind: 'lint', parser: 'flake8', command: `${DEBIAN_PYTHON} -m flake8 calc tests`, timeout_ms: 60_000 },
  {
    name: 'types',
    kind: 'types',
    parser: 'mypy',
    command: `${DEBIAN_PYTHON} -m mypy --cache-dir=$TANDEM_GATE_OUT/mypy --show-column-numbers calc tests`,
    timeout_ms: 60_000,
  },
  // `custom`: the config schema still ties `kind: api` to the declarations parser.
  { name: 'api', kind: 'api', parser: 'python-api', command: pythonApiCommand(DEBIAN_PYTHON, ['calc']), timeout_ms: 60_000 },
];
