import { describe, expect, it } from 'vitest';
import { parseDeclarations, splitStatements } from '../../../src/gate/parsers/declarations.js';

describe('parseDeclarations', () => {
  it('merges overloads, follows nested re-exports, keeps packages outside the folder as one entry, and survives cycles', () => {
    const files = new Map([
      [
        'index.d.ts',
        "export declare function f(a: string): string;\nexport declare function f(a: number): number;\nexport * from './sub/index.js';\nexport * from 'other-package';\n",
      ],
      ['sub/index.d.ts', "export { g } from './g.js';\nexport * from '../index.js';\n"],
      ['sub/g.d.ts', '/** Doc with a ; inside */\nexport declare const g: { a: number; b: string };\n'],
    ]);
    const result = parseDeclarations(files, ['index.d.ts']);
    expect(result).toEqual({
      ok: true,
      output: {
        exports: [
          { entry: 'index.d.ts', name: '* from other-package', kind: 'reexport', signature: "export * from 'other-package'" },
          {
            entry: 'index.d.ts',
            name: 'f',
            kind: 'function',
            signature: 'export declare function f(a: string): string export declare function f(a: number): number',
          },
          { entry: 'index.d.ts', name: 'g', kind: 'const', signature: 'const g: { a: number; b: string }' },
        ],
      },
    });
  });

  it('says which entry was not emitted, and that an empty folder means the command did not emit', () => {
    expect(parseDeclarations(new Map([['a.d.ts', '']]), ['index.d.ts'])).toEqual({
      ok: false,
      reason: 'the entry "index.d.ts" was not emitted (emitted: a.d.ts)',
    });
    expect(parseDeclarations(new Map(), []).ok).toBe(false);
  });

  it('splits statements at semicolons and at the end of blocks, never inside strings or comments', () => {
    expect(splitStatements("export interface A {\n  x: ';';\n}\nexport type B = `;`; // c;\nexport declare const c: 1\n")).toEqual([
      "export interface A { x: ';'; }",
      'export type B = `;`',
      'export declare const c: 1',
    ]);
  });
});
