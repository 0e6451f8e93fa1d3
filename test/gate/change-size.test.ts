import { describe, expect, it } from 'vitest';
import { ChangeSizeLimitsSchema } from '../../src/gate/gate-options.js';
import { areaOf, classifyChange, runsOn } from '../../src/gate/change-size.js';
import { parseNumstat } from '../../src/gate/measure-change.js';

const limits = ChangeSizeLimitsSchema.parse({});
const f = (path: string, lines: number) => ({ path, lines });

describe('classifyChange', () => {
  it('takes the smallest class whose line and file limits both hold; a change of code is never TRIVIAL', () => {
    expect(classifyChange([], limits)).toEqual({ size: 'TRIVIAL', lines: 0, files: 0, areas: [] });
    expect(classifyChange([f('src/a.ts', 1)], limits).size).toBe('SMALL');
    expect(classifyChange([{ path: 'src/a.ts', lines: 1, code: true }], limits).size).toBe('SMALL');
    expect(classifyChange([f('src/a.ts', 6)], limits).size).toBe('SMALL');
    expect(classifyChange([f('src/a.ts', 2), f('test/a.test.ts', 2)], limits)).toEqual({ size: 'SMALL', lines: 4, files: 2, areas: ['source', 'tests'] });
    expect(classifyChange([f('src/a.ts', 51)], limits).size).toBe('MEDIUM');
    expect(classifyChange([f('a', 1), f('b', 1), f('c', 1), f('d', 1)], limits).size).toBe('MEDIUM');
    expect(classifyChange([f('src/a.ts', 301)], limits).size).toBe('LARGE');
  });

  it('calls a documentation-only change TRIVIAL whatever its size, and a build or dependency change at least MEDIUM', () => {
    expect(classifyChange([f('docs/guide.md', 900), f('README.md', 40)], limits)).toEqual({ size: 'TRIVIAL', lines: 940, files: 2, areas: ['docs'] });
    expect(classifyChange([f('package.json', 1)], limits)).toEqual({ size: 'MEDIUM', lines: 1, files: 1, areas: ['config'] });
    expect(classifyChange([f('requirements.txt', 1), f('src/a.py', 1)], limits).size).toBe('MEDIUM');
  });

  it('calls a change of comments and layout only TRIVIAL whatever its size', () => {
    expect(classifyChange([{ path: 'src/a.ts', lines: 400, code: false }, f('README.md', 3)], limits)).toEqual({
      size: 'TRIVIAL',
      lines: 403,
      files: 2,
      areas: ['source', 'docs'],
    });
    expect(
      classifyChange(
        [
          { path: 'src/a.ts', lines: 1, code: false },
          { path: 'src/b.ts', lines: 1, code: true },
        ],
        limits,
      ).size,
    ).toBe('SMALL');
  });

  it('follows configured limits', () => {
    const tight = ChangeSizeLimitsSchema.parse({ small: { max_lines: 2, max_files: 1 } });
    expect(classifyChange([f('src/a.ts', 3)], tight).size).toBe('MEDIUM');
  });
});

describe('areaOf and runsOn', () => {
  it('sorts paths into areas', () => {
    expect(
      [
        'src/x.ts',
        'src/x.test.ts',
        'tests/test_x.py',
        'pkg/x_test.go',
        'docs/a.png',
        'CHANGELOG.md',
        'tsconfig.build.json',
        '.github/workflows/ci.yml',
        'vite.config.ts',
        'requirements-dev.txt',
      ].map(areaOf),
    ).toEqual(['source', 'tests', 'tests', 'tests', 'docs', 'docs', 'config', 'config', 'config', 'config']);
  });
  it('runs a check without runs_on on every size', () => {
    expect([runsOn(undefined, 'TRIVIAL'), runsOn(['LARGE'], 'SMALL'), runsOn(['SMALL', 'LARGE'], 'LARGE')]).toEqual([true, false, true]);
  });
});

describe('parseNumstat', () => {
  it('reads added plus deleted lines, binary files as zero lines', () => {
    expect(parseNumstat('3\t1\tsrc/a.ts\u00000\t7\tREADME.md\u0000-\t-\tlogo.png\u0000')).toEqual([f('src/a.ts', 4), f('README.md', 7), f('logo.png', 0)]);
  });
});
