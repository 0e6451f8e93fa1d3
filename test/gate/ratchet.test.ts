import { describe, expect, it } from 'vitest';
import type { Coverage, Warning } from '../../src/gate/parsers/parsed-output.js';
import { compareApi, compareCoverage, fixedWarningCount, lineRanges, newWarnings, removedTests, warningIdentity } from '../../src/gate/ratchet.js';

const w = (line: number, message = "'x' is unused", rule = 'no-unused-vars', file = 'src/a.ts'): Warning => ({
  rule,
  file,
  line,
  column: 1,
  message,
  severity: 'error',
});

describe('newWarnings', () => {
  it('does not count a warning that only moved as new', () => {
    expect(newWarnings([w(12)], [w(3)])).toEqual([]);
  });

  it('counts one more copy of an existing warning as new, reporting the copy at a line the base did not have', () => {
    expect(newWarnings([w(3), w(40)], [w(3)])).toEqual([w(40)]);
  });

  it('tells warnings apart by rule, file and message, and ignores positions inside messages', () => {
    expect(newWarnings([w(1, 'redefinition of unused x from line 9')], [w(5, 'redefinition of unused x from line 2')])).toEqual([]);
    expect(newWarnings([w(1, 'a', 'r1'), w(1, 'a', 'r2'), w(1, 'a', 'r1', 'src/b.ts')], [w(1, 'a', 'r1')])).toEqual(
      [w(1, 'a', 'r2'), w(1, 'a', 'r1', 'src/b.ts')].sort((a, b) => a.file.localeCompare(b.file)),
    );
    expect(warningIdentity(w(1, 'bad  thing\n at file.ts:3:4'))).toBe('no-unused-vars\u0000src/a.ts\u0000bad thing at file.ts:N');
  });

  it('counts the base’s warnings that are gone', () => {
    expect(fixedWarningCount([w(1)], [w(1), w(2), w(3, 'other')])).toBe(2);
  });
});

const coverage = (files: Record<string, [number, number, number[]]>): Coverage => {
  let covered = 0;
  let total = 0;
  const out: Coverage['files'] = {};
  for (const [file, [c, t, uncovered]] of Object.entries(files)) {
    covered += c;
    total += t;
    out[file] = { lines: { covered: c, total: t, pct: Math.round((c / t) * 10_000) / 100 }, uncovered };
  }
  return { lines: { covered, total, pct: Math.round((covered / total) * 10_000) / 100 }, files: out };
};

describe('compareCoverage', () => {
  const base = coverage({ 'a.ts': [9, 10, [4]] });

  it('regresses on any drop beyond the tolerance, listing the files that lost lines, new files included', () => {
    const step = coverage({ 'a.ts': [9, 12, [4, 20, 21]], 'b.ts': [1, 2, [7]] });
    expect(compareCoverage(step, base, 0)).toEqual({
      before: 90,
      after: 71.43,
      drop: 18.57,
      dropped: true,
      files: [
        { file: 'a.ts', before: 90, after: 75, uncovered: [4, 20, 21] },
        { file: 'b.ts', before: undefined, after: 50, uncovered: [7] },
      ],
    });
  });

  it('allows a drop within the tolerance and any rise', () => {
    expect(compareCoverage(coverage({ 'a.ts': [89, 100, []] }), base, 1).dropped).toBe(false);
    expect(compareCoverage(coverage({ 'a.ts': [89, 100, []] }), base, 0.5).dropped).toBe(true);
    expect(compareCoverage(coverage({ 'a.ts': [10, 10, []] }), base, 0)).toMatchObject({ drop: -10, dropped: false, files: [] });
  });
});

describe('compareApi and removedTests', () => {
  const e = (name: string, signature = `export declare const ${name}: number`) => ({ entry: 'index.d.ts', name, kind: 'const', signature });
  it('finds removed, changed and added exports', () => {
    expect(compareApi([e('a', 'export declare const a: string'), e('c')], [e('a'), e('b')])).toEqual({ removed: [e('b')], changed: [e('a')], added: [e('c')] });
  });
  it('finds tests that passed at the base and are gone', () => {
    expect(
      removedTests(
        [{ name: 'kept', status: 'passed' }],
        [
          { name: 'kept', status: 'passed' },
          { name: 'gone', status: 'passed' },
          { name: 'was failing', status: 'failed' },
        ],
      ),
    ).toEqual([{ name: 'gone', status: 'passed' }]);
  });
});

describe('lineRanges', () => {
  it('folds runs of lines', () => {
    expect(lineRanges([9, 3, 4, 5, 12, 13])).toBe('3-5, 9, 12-13');
    expect(lineRanges([1, 3, 5, 7], 2)).toBe('1, 3, …');
  });
});
