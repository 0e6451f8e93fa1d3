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
    const reasons = Object.fromEntries(
      Object.entries(TEXT_PARSERS).map(([name, parse]) => [name, ((r) => (r.ok ? 'ok' : r.reason))(parse({ text: crash, stderr: '', root: '/repo' }))]),
    );
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
      'go-vet': 'none of its lines reads as go vet output ("# package", a -json tree or "file.go:line:col: message")',
      lcov: 'it has no lcov records ("SF:" … "end_of_record")',
      'coverage-summary': 'it is not JSON (Unexpected token \'S\', "Segmentati"... is not valid JSON)',
      cobertura: 'it has no <coverage> element (is this a Cobertura XML report?)',
      'go-cover': 'it does not start with "mode: set|count|atomic" (is this a `go test -coverprofile` file?)',
      'go-doc':
        'it has no "package … // import …" line (is this `go doc -all` output? An empty output means no library package was listed, or `go list` failed)',
      'python-api': 'it is not JSON (Unexpected token \'S\', "Segmentati"... is not valid JSON)',
    });
  });

  it('reads the empty output of a clean linter run as no warnings, but an empty JSON report as unreadable', () => {
    expect(TEXT_PARSERS.flake8({ text: '', stderr: '', root: '/repo' })).toEqual({ ok: true, output: { warnings: [] } });
    expect(TEXT_PARSERS.tsc({ text: '', stderr: '', root: '/repo' })).toEqual({ ok: true, output: { warnings: [] } });
    expect(TEXT_PARSERS['go-vet']({ text: '', stderr: '', root: '/repo' })).toEqual({ ok: true, output: { warnings: [] } });
    expect(TEXT_PARSERS['eslint-json']({ text: '', stderr: '', root: '/repo' })).toEqual({ ok: false, reason: 'the output is empty' });
    // An API listing that is empty says nothing was listed (a failed `go list`), not that the API is empty.
    expect(TEXT_PARSERS['go-doc']({ text: '', stderr: '', root: '/repo' }).ok).toBe(false);
    expect(TEXT_PARSERS['python-api']({ text: '', stderr: '', root: '/repo' })).toEqual({ ok: false, reason: 'the output is empty' });
  });
});
