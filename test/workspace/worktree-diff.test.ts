import { describe, expect, it } from 'vitest';
import { parseNameStatus, parseNumstat } from '../../src/workspace/worktree-diff.js';

describe('parseNameStatus', () => {
  it('reads plain entries, renames with a score, copies and type changes', () => {
    const output = [
      'M',
      'src/a.ts',
      'R087',
      'old name.ts',
      'new\tname.ts',
      'A',
      'added.ts',
      'D',
      'gone.ts',
      'C100',
      'src/a.ts',
      'copy.ts',
      'T',
      'link',
      '',
    ].join('\0');
    expect(parseNameStatus(output)).toEqual([
      { path: 'src/a.ts', status: 'modified', oldPath: undefined },
      { path: 'new\tname.ts', status: 'renamed', oldPath: 'old name.ts' },
      { path: 'added.ts', status: 'added', oldPath: undefined },
      { path: 'gone.ts', status: 'deleted', oldPath: undefined },
      { path: 'copy.ts', status: 'added', oldPath: undefined },
      { path: 'link', status: 'modified', oldPath: undefined },
    ]);
  });

  it('is empty for no output', () => {
    expect(parseNameStatus('')).toEqual([]);
  });
});

describe('parseNumstat', () => {
  it('reads counts, renames (paths after the record) and binaries', () => {
    const output = ['3\t1\tsrc/a.ts', '0\t2\t', 'old.ts', 'new.ts', '-\t-\tlogo.png', '1\t0\twith\ttab.ts', ''].join('\0');
    expect([...parseNumstat(output)]).toEqual([
      ['src/a.ts', { insertions: 3, deletions: 1 }],
      ['new.ts', { insertions: 0, deletions: 2 }],
      ['logo.png', { insertions: 0, deletions: 0 }],
      ['with\ttab.ts', { insertions: 1, deletions: 0 }],
    ]);
  });
});
