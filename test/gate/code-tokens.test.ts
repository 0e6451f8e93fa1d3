import { describe, expect, it } from 'vitest';
import { codeDiffers, loadTypeScript, tokenizerFor } from '../../src/gate/code-tokens.js';

const typescript = await loadTypeScript();
const differs = (path: string, before: string, after: string): boolean => {
  const tokenizer = tokenizerFor(path, typescript);
  if (tokenizer === undefined) throw new Error(`no tokenizer for ${path}`);
  return codeDiffers(tokenizer, before, after);
};

describe('codeDiffers', () => {
  it('TypeScript: comments and layout are not code; a changed value, a regex or a template text is', () => {
    const base = 'export function clamp(v: number): number {\n  return v < 0 ? 0 : v;\n}\n';
    expect(differs('src/a.ts', base, `/** Clamps. */\n${base.replace('  return', '  // below zero\n  return')}\n\n`)).toBe(false);
    expect(differs('src/a.ts', base, base.replace('v < 0 ? 0', 'v < 0  ?  0'))).toBe(false);
    expect(differs('src/a.ts', base, base.replace('? 0 :', '? 1 :'))).toBe(true);
    expect(differs('src/a.ts', 'const r = /a\\/\\/b/;\n', 'const r = /a\\/\\/c/;\n')).toBe(true);
    expect(differs('src/a.ts', 'const s = `${a} // x`;\n', 'const s = `${a} // y`;\n')).toBe(true);
    expect(differs('src/a.ts', 'return\nvalue;\n', 'return value;\n')).toBe(true);
    expect(typescript).toBeDefined();
  });

  it('Python: # comments and blank lines are not code; a # in a string, an indentation or a docstring is', () => {
    const base = 'def f(x):\n    if x:\n        return 1\n    return 2\n';
    expect(differs('pkg/a.py', base, `# header\n${base.replace('    return 2', '    # fallback\n\n    return 2  # two')}`)).toBe(false);
    expect(differs('pkg/a.py', 'x = "a # b"\n', 'x = "a # c"\n')).toBe(true);
    expect(differs('pkg/a.py', base, base.replace('    return 2', '        return 2'))).toBe(true);
    expect(differs('pkg/a.py', 'def f():\n    """Doc."""\n', 'def f():\n    """Docs."""\n')).toBe(true);
    expect(differs('pkg/a.py', 'x = f(1,\n      2)\n', 'x = f(1,\n  2)\n')).toBe(false);
  });

  it('Go: // and /* */ comments are not code; a string with // in it is', () => {
    const base = 'package calc\n\nfunc Add(a, b int) int {\n\treturn a + b\n}\n';
    expect(differs('calc/a.go', base, `// Package calc adds.\n/* more */\n${base.replace('\treturn', '\t// sum\n\treturn')}`)).toBe(false);
    expect(differs('calc/a.go', 'var s = "http://x"\n', 'var s = "http://y"\n')).toBe(true);
    expect(differs('calc/a.go', 'var s = `a // b`\n', 'var s = `a // c`\n')).toBe(true);
    expect(differs('calc/a.go', base, base.replace('a + b', 'a - b'))).toBe(true);
  });

  it('has no tokenizer for files it cannot read as code', () => {
    expect(tokenizerFor('package.json', typescript)).toBeUndefined();
    expect(tokenizerFor('run.sh', typescript)).toBeUndefined();
  });
});
