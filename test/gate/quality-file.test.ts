import { describe, expect, it } from 'vitest';
import { parseQualityFile } from '../../src/gate/quality-file.js';
import { InputError } from '../../src/platform/errors.js';

const file = '/repo/.tandem/quality.yaml';
function problems(text: string): string[] {
  try {
    parseQualityFile(text, file);
  } catch (error) {
    if (error instanceof InputError) return error.message.split('\n');
    throw error;
  }
  return [];
}

describe('parseQualityFile', () => {
  it('returns only the settings the file sets, with check defaults filled in', () => {
    expect(parseQualityFile('coverage_tolerance: 0.5\nchecks:\n  - name: lint\n    kind: lint\n    parser: flake8\n    command: flake8 .\n', file)).toEqual({
      coverage_tolerance: 0.5,
      checks: [{ name: 'lint', kind: 'lint', parser: 'flake8', command: 'flake8 .', timeout_ms: 300_000 }],
    });
    expect(parseQualityFile('', file)).toEqual({});
  });

  it('names the file, line, column and field of every problem, with a suggestion for a misspelt field', () => {
    expect(
      problems(`flaky_test: warn
checks:
  - name: tests
    kind: tests
    parser: vitest
    command: npx vitest
  - name: tests
    command: x
    runs_on: []
  - name: api
    kind: api
    parser: declarations
    command: tsc
`),
    ).toEqual([
      `${file}:1:1: flaky_test: unknown field \`flaky_test\` (did you mean \`flaky_tests\`?)`,
      `${file}:5:13: checks[0].parser: unknown parser \`vitest\` (allowed: vitest-json, jest-json, tap, junit-xml, go-test-json, eslint-json, biome-json, ruff-json, flake8, tsc, mypy, go-vet, lcov, coverage-summary, cobertura, go-cover, declarations, go-doc, python-api)`,
      `${file}:9:14: checks[1].runs_on: must have at least 1 item(s)`,
      `${file}:10:5: checks[2].report: the declarations parser reads a folder: set \`report\` to the --outDir that tsc writes the .d.ts files to`,
    ]);
  });

  it('rejects two checks of one name (baselines are kept by name)', () => {
    expect(problems('checks:\n  - name: tests\n    command: a\n  - name: tests\n    command: b\n')).toEqual([
      `${file}:4:11: checks[1].name: another check is already named "tests"; names must be unique`,
    ]);
  });

  it('rejects a check that cannot do what its kind says', () => {
    expect(problems('checks:\n  - name: cov\n    kind: coverage\n    command: x\n  - name: t\n    command: x\n    rerun: x {name}\n')).toEqual([
      `${file}:2:5: checks[0].parser: a coverage check needs a coverage parser (lcov, coverage-summary, cobertura, go-cover) or a \`coverage\` report`,
      `${file}:7:12: checks[1].rerun: only a check with a test parser (vitest-json, jest-json, tap, junit-xml, go-test-json) can re-run a failing test`,
    ]);
    expect(problems('checks: [unclosed\n')[0]).toMatch(/^\/repo\/\.tandem\/quality\.yaml:2:1: invalid YAML: /);
    expect(problems('- a\n- b\n')).toEqual([`${file}:1: must be a mapping of gate settings (checks, coverage_tolerance, flaky_tests, …)`]);
  });
});
