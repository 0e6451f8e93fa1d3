import { describe, expect, it } from 'vitest';
import { TEXT_PARSERS } from '../../../src/gate/parsers/registry.js';

/** Output no parser recognizes must never read as "no tests failed" or "no warnings". */
describe('every parser on output that is not its tool’s', () => {
  const crash = 'Segmentation fault (core dumped)\nnode: internal error\n';
  it.each(Object.keys(TEXT_PARSERS) as (keyof typeof TEXT_PARSERS)[])('%s refuses a crash message', (name) => {
    const result = TEXT_PARSERS[name]({ text: crash, stderr: '', root: '/repo' });
    expect(result.ok).toBe(false);
  });

  it('names what it expected', () => {
    const reasons = Object.fromEntries(Object.entries(TEXT_PARSERS).map(([name, parse]) => [name, (r => (r.ok ? 'ok' : r.reason))(parse({ text: crash, stderr: '', root: '/repo' }))]));
    expect(reasons).toEqual({
      'vitest-json': 'it is not JSON (Unexpected token \'S\', "Segmentati"... is not valid JSON)',
      'jest-json': 'it is not JSON (Unexpected token \'S\', "Segmentati"... is not valid JSON)',
      tap: 'it has no TAP test lines ("ok …" / "not ok …")',
      'junit-xml': 'it has no <testsuite> element (is this a JUnit XML report?)',
      'go-test-json': 'it has no `go test -json` events',
      'eslint-json': 'it is not JSON (Unexpected token \'S\', "Segmentati"... is not valid JSON)',
      'biome-json': 'it is not JSON (Unexpected token \'S\', "Segmentati"... is not valid JSON)',
      'ruff-json': 'it is not JSON (Unexpected token \'S\', "Segmentati"... is not valid JSON)',
      flake8: 'none of its lines reads as a flake8 diagnostic',
      tsc: 'none of its lines reads as a tsc diagnostic',
      mypy: 'none of its lines reads as a mypy diagnostic',
      lcov: 'it has no lcov records ("SF:" … "end_of_record")',
      'coverage-summary': 'it is not JSON (Unexpected token \'S\', "Segmentati"... is not valid JSON)',
      cobertura: 'it has no <coverage> element (is this a Cobertura XML report?)',
    });
  });

  it('reads the empty output of a clean linter run as no warnings, but an empty JSON report as unreadable', () => {
    expect(TEXT_PARSERS.flake8({ text: '', stderr: '', root: '/repo' })).toEqual({ ok: true, output: { warnings: [] } });
    expect(TEXT_PARSERS.tsc({ text: '', stderr: '', root: '/repo' })).toEqual({ ok: true, output: { warnings: [] } });
    expect(TEXT_PARSERS['eslint-json']({ text: '', stderr: '', root: '/repo' })).toEqual({ ok: false, reason: 'the output is empty' });
  });
});
