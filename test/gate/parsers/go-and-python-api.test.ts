import { describe, expect, it } from 'vitest';
import { parseGoCover } from '../../../src/gate/parsers/go-cover.js';
import { parseGoDoc } from '../../../src/gate/parsers/go-doc.js';
import { parseGoVet } from '../../../src/gate/parsers/go-vet.js';
import { parsePythonApi } from '../../../src/gate/parsers/python-api.js';

/** Cases real tool runs do not easily produce; the parsers on real output are in go-tools and python-tools. */
const root = '/repo';

describe('parseGoCover', () => {
  it('counts a line covered when any block on it ran, merges repeated blocks and concatenated profiles, and skips blocks without statements', () => {
    const profile = [
      'mode: set',
      // Two blocks meet on line 3: the first ran, so line 3 is covered although the second did not.
      'example.com/m/a.go:1.20,3.12 1 1',
      'example.com/m/a.go:3.12,5.3 1 0',
      // An empty function body has no statement: nothing to cover.
      'example.com/m/a.go:7.20,7.21 0 0',
      'mode: set',
      // The same block from a second test binary (-coverpkg): one of them ran it.
      'example.com/m/b.go:2.1,2.30 1 0',
      'example.com/m/b.go:2.1,2.30 1 1',
      '',
    ].join('\n');
    expect(parseGoCover({ text: profile, stderr: '', root })).toEqual({
      ok: true,
      output: {
        coverage: {
          lines: { covered: 4, total: 6, pct: 66.67 },
          files: {
            'example.com/m/a.go': { lines: { covered: 3, total: 5, pct: 60 }, uncovered: [4, 5] },
            'example.com/m/b.go': { lines: { covered: 1, total: 1, pct: 100 }, uncovered: [] },
          },
        },
      },
    });
  });

  it('makes the paths of packages outside a module worktree-relative, and refuses a line that is not a block', () => {
    const outside = parseGoCover({ text: 'mode: count\n_/repo/pkg/x.go:1.1,1.9 1 4\n', stderr: '', root });
    expect(outside.ok && Object.keys(outside.output.coverage?.files ?? {})).toEqual(['pkg/x.go']);
    expect(parseGoCover({ text: 'mode: set\nexample.com/m/a.go:1.1,2.1 1 1\npanic: boom\n', stderr: '', root })).toEqual({
      ok: false,
      reason: 'line 3 is not a coverage block ("panic: boom")',
    });
  });
});

describe('parseGoVet', () => {
  it('reads an analyzer that failed as a finding of that analyzer, the column-less plain format, and reports a finding printed twice once', () => {
    const stderr = [
      '# example.com/m',
      '{',
      '\t"example.com/m": {',
      '\t\t"lostcancel": {',
      '\t\t\t"error": "analysis failed in /repo/a.go"',
      '\t\t}',
      '\t}',
      '}',
      '# example.com/m',
      './a.go:7: fmt.Sprintf format %d has arg "n" of wrong type string',
      './a.go:7: fmt.Sprintf format %d has arg "n" of wrong type string',
    ].join('\n');
    expect(parseGoVet({ text: '', stderr, root })).toEqual({
      ok: true,
      output: {
        warnings: [
          { rule: 'lostcancel', file: '', line: 0, message: 'analysis failed in a.go', severity: 'error' },
          { rule: 'vet', file: 'a.go', line: 7, message: 'fmt.Sprintf format %d has arg "n" of wrong type string', severity: 'warning' },
        ],
      },
    });
  });

  it('reads packages without findings as no warnings even beside lines it does not know (the exit code then decides)', () => {
    expect(parseGoVet({ text: '', stderr: '# example.com/m\n{}\nvet: open /repo/x: permission denied\n', root })).toEqual({
      ok: true,
      output: { warnings: [] },
    });
  });
});

describe('parseGoDoc', () => {
  const doc = (body: string): string => `package m // import "example.com/m"\n\nPackage m does things.\nfunc LooksLikeCode()\n\n${body}`;

  it('reads declarations only after the first section, skips comments and the BUGS section, and reads grouped types', () => {
    const text = [
      doc(
        [
          'TYPES',
          '',
          'type (',
          '\tA int',
          '\tb int',
          ')',
          '',
          'type T struct {',
          '\tX /* the x */ int',
          '\t/* Y int */',
          '}',
          '    T is a thing.',
          '',
          'BUGS',
          '',
          'func Buggy()',
        ].join('\n'),
      ),
      'package empty // import "example.com/m/empty"',
      '',
    ].join('\n');
    expect(parseGoDoc({ text, stderr: '', root })).toEqual({
      ok: true,
      output: {
        exports: [
          { entry: 'example.com/m', name: 'A', kind: 'type', signature: 'A int' },
          { entry: 'example.com/m', name: 'T', kind: 'type', signature: 'type T struct' },
          { entry: 'example.com/m', name: 'T.X', kind: 'field', signature: 'X int' },
        ],
      },
    });
  });

  it('reads a package without exported names as an empty API, but output without a package line as unreadable', () => {
    expect(parseGoDoc({ text: 'package m // import "example.com/m"\n\nPackage m is empty.\n', stderr: '', root })).toEqual({
      ok: true,
      output: { exports: [] },
    });
    expect(parseGoDoc({ text: 'package m\n\nfunc A()\n', stderr: '', root }).ok).toBe(false);
  });
});

describe('parsePythonApi', () => {
  it('sorts by module and name, and refuses JSON of another shape', () => {
    const text = JSON.stringify([
      { module: 'pkg.b', name: 'f', kind: 'function', signature: 'def f()' },
      { module: 'pkg', name: 'g', kind: 'function', signature: 'def g()' },
    ]);
    expect(parsePythonApi({ text, stderr: '', root })).toEqual({
      ok: true,
      output: {
        exports: [
          { entry: 'pkg', name: 'g', kind: 'function', signature: 'def g()' },
          { entry: 'pkg.b', name: 'f', kind: 'function', signature: 'def f()' },
        ],
      },
    });
    expect(parsePythonApi({ text: '[{"module": "pkg"}]', stderr: '', root })).toEqual({
      ok: false,
      reason:
        "it is not a list of {module, name, kind, signature} (0.name: Invalid input: expected string, received undefined; is this the output of tandem's Python API script?)",
    });
    expect(parsePythonApi({ text: '[]', stderr: '', root })).toEqual({ ok: true, output: { exports: [] } });
  });
});
