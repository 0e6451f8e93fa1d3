import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseRuffJson } from '../../../src/gate/parsers/ruff-json.js';

/** Recorded output (see test/fixtures/gate/ruff/README.md): ruff cannot be installed here. */
const fixture = (name: string): string => readFileSync(fileURLToPath(new URL(`../../fixtures/gate/ruff/${name}`, import.meta.url)), 'utf8');
const root = '/home/user/project';

const expected = [
  { rule: 'F401', file: 'fib.py', line: 1, column: 8, message: '`os` imported but unused', severity: 'error' },
  { rule: 'F841', file: 'fib.py', line: 6, column: 5, message: 'Local variable `x` is assigned to but never used', severity: 'error' },
  {
    rule: 'syntax-error',
    file: 'syntax_errors.py',
    line: 1,
    column: 15,
    message: 'SyntaxError: Expected one or more symbol names after import',
    severity: 'error',
  },
];

describe('parseRuffJson', () => {
  it('reads `--output-format json`, keeping syntax errors (no code) as syntax-error', () => {
    expect(parseRuffJson({ text: fixture('check.json'), stderr: '', root })).toEqual({ ok: true, output: { warnings: expected } });
  });

  it('reads `--output-format json-lines` the same way', () => {
    expect(parseRuffJson({ text: fixture('check.jsonl'), stderr: '', root })).toEqual({ ok: true, output: { warnings: expected } });
  });

  it('reads a clean run and refuses what is not ruff output', () => {
    expect(parseRuffJson({ text: '[]\n', stderr: '', root })).toEqual({ ok: true, output: { warnings: [] } });
    expect(parseRuffJson({ text: '[{"path": "x.py"}]', stderr: '', root })).toEqual({
      ok: false,
      reason: 'a diagnostic has no "filename" (is this `ruff check --output-format json` output?)',
    });
    expect(parseRuffJson({ text: 'error: Failed to parse pyproject.toml', stderr: '', root }).ok).toBe(false);
  });
});
