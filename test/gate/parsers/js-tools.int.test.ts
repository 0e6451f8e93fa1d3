import { symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDeclarations } from '../../../src/gate/parsers/declarations.js';
import type { ParseResult } from '../../../src/gate/parsers/parsed-output.js';
import { TEXT_PARSERS } from '../../../src/gate/parsers/registry.js';
import { NODE_BIN, NODE_MODULES } from '../fixture-repos.js';
import { readText, runTool, toolProject } from './run-tool.js';

/**
 * Every JavaScript-side parser on the real output of the real tool (from this project's
 * node_modules: vitest, @vitest/coverage-v8, jest, eslint, @biomejs/biome, typescript; node's
 * own test runner), run on small fixture projects.
 */

const files: Record<string, string> = {
  'package.json': '{ "name": "fixture", "type": "module" }\n',
  'src/math.ts': `export function clamp(value: number, min: number, max: number): number {
  if (value < min) {
    return min;
  }
  if (value > max) {
    return max;
  }
  return value;
}
`,
  'src/math.test.ts': `import { describe, expect, it } from 'vitest';
import { clamp } from './math.js';

describe('clamp', () => {
  it('keeps values in range', () => expect(clamp(5, 0, 10)).toBe(5));
  it('lifts to the minimum', () => expect(clamp(-1, 0, 10)).toBe(1));
  it.skip('is skipped', () => undefined);
});
it('top "quoted" name', () => expect(1).toBe(1));
`,
  'src/broken.test.ts': "import { missing } from './nope.js';\nmissing();\n",
};

let project: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  project = await toolProject(files);
  await symlink(NODE_MODULES, join(project.dir, 'node_modules'), 'dir');
});
afterAll(async () => project.cleanup());

const parse = (parser: keyof typeof TEXT_PARSERS, text: string, stderr = ''): ParseResult => TEXT_PARSERS[parser]({ text, stderr, root: project.dir });

describe('vitest --reporter=json and its v8 coverage reports', () => {
  it('reads tests, failures, skips, a file that failed to load, and the lcov / json-summary / cobertura coverage of the same run', async () => {
    const out = await runTool(
      project.dir,
      `${NODE_BIN}/vitest run --no-cache --reporter=json --outputFile=out/vitest.json --coverage.enabled --coverage.provider=v8 --coverage.reporter=lcov ` +
        `--coverage.reporter=json-summary --coverage.reporter=cobertura --coverage.reportsDirectory=out/coverage --coverage.include='src/math.ts' --coverage.reportOnFailure`,
    );
    expect(out.exitCode).toBe(1);

    const tests = parse('vitest-json', await readText(join(project.dir, 'out/vitest.json')));
    expect(tests).toEqual({
      ok: true,
      output: {
        tests: [
          {
            name: 'src/broken.test.ts (the file failed to run)',
            file: 'src/broken.test.ts',
            status: 'failed',
            message: "Cannot find module './nope.js' imported from src/broken.test.ts",
          },
          {
            name: 'clamp › keeps values in range',
            file: 'src/math.test.ts',
            status: 'passed',
            rerun: { file: 'src/math.test.ts', name: 'clamp keeps values in range', pattern: '^clamp keeps values in range$' },
          },
          {
            name: 'clamp › lifts to the minimum',
            file: 'src/math.test.ts',
            status: 'failed',
            message: 'AssertionError: expected +0 to be 1 // Object.is equality\n    at src/math.test.ts:6:61',
            rerun: { file: 'src/math.test.ts', name: 'clamp lifts to the minimum', pattern: '^clamp lifts to the minimum$' },
          },
          {
            name: 'clamp › is skipped',
            file: 'src/math.test.ts',
            status: 'skipped',
            rerun: { file: 'src/math.test.ts', name: 'clamp is skipped', pattern: '^clamp is skipped$' },
          },
          {
            name: 'top "quoted" name',
            file: 'src/math.test.ts',
            status: 'passed',
            rerun: { file: 'src/math.test.ts', name: 'top "quoted" name', pattern: '^top "quoted" name$' },
          },
        ],
      },
    });

    // v8 counts statement lines (2, 3, 5, 6, 8); no test reaches line 6 (`return max`).
    const coverage = { lines: { covered: 4, total: 5, pct: 80 }, files: { 'src/math.ts': { lines: { covered: 4, total: 5, pct: 80 }, uncovered: [6] } } };
    expect(parse('lcov', await readText(join(project.dir, 'out/coverage/lcov.info')))).toEqual({ ok: true, output: { coverage } });
    expect(parse('cobertura', await readText(join(project.dir, 'out/coverage/cobertura-coverage.xml')))).toEqual({ ok: true, output: { coverage } });
    expect(parse('coverage-summary', await readText(join(project.dir, 'out/coverage/coverage-summary.json')))).toEqual({
      ok: true,
      output: { coverage: { lines: coverage.lines, files: { 'src/math.ts': { lines: coverage.lines } } } },
    });
  });
});

describe('jest --json', () => {
  it('reads passed, failed and skipped tests and a suite that failed to run', async () => {
    const jest = await toolProject({
      'package.json': '{ "name": "jest-fixture" }\n',
      'math.test.js':
        "describe('math', () => {\n  test('adds', () => expect(1 + 2).toBe(3));\n  test('fails', () => expect(1 + 2).toBe(4));\n  test.skip('skipped', () => {});\n});\n",
      'broken.test.js': "require('./nope');\n",
    });
    try {
      const out = await runTool(jest.dir, `${NODE_BIN}/jest --ci --json --outputFile=out.json`);
      expect(out.exitCode).toBe(1);
      const result = TEXT_PARSERS['jest-json']({ text: await readText(join(jest.dir, 'out.json')), stderr: out.stderr, root: jest.dir });
      if (!result.ok) throw new Error(result.reason);
      const tests = [...(result.output.tests ?? [])].sort((a, b) => a.name.localeCompare(b.name));
      expect(tests.map((t) => [t.name, t.file, t.status])).toEqual([
        ['broken.test.js (the file failed to run)', 'broken.test.js', 'failed'],
        ['math › adds', 'math.test.js', 'passed'],
        ['math › fails', 'math.test.js', 'failed'],
        ['math › skipped', 'math.test.js', 'skipped'],
      ]);
      expect(tests[2]?.message).toBe(
        'Error: expect(received).toBe(expected) // Object.is equality\n\nExpected: 4\nReceived: 3\n    at Object.toBe (math.test.js:3:37)',
      );
      expect(tests[0]?.message?.split('\n').slice(0, 3)).toEqual(['  ● Test suite failed to run', '', "    Cannot find module './nope' from 'broken.test.js'"]);
    } finally {
      await jest.cleanup();
    }
  });
});

describe("node --test's TAP reporter and its lcov coverage", () => {
  it('reads nested suites as leaves, skip and todo directives, escaped names and a file that failed to load', async () => {
    const node = await toolProject({
      'lib.mjs': 'export const sign = (x) => {\n  if (x < 0) {\n    return -1;\n  }\n  return 1;\n};\n',
      'a.test.mjs': `import { describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { sign } from './lib.mjs';
describe('sign', () => {
  it('is one for positives', () => assert.equal(sign(2), 1));
  it('fails # on purpose', () => assert.equal(sign(2), 2));
  it('is skipped', { skip: 'later' }, () => {});
  it.todo('is todo');
});
test('top level', () => {});
`,
      'b.test.mjs': "import './missing.mjs';\n",
    });
    try {
      const out = await runTool(
        node.dir,
        'node --test --experimental-test-coverage --test-reporter=tap --test-reporter-destination=stdout --test-reporter=lcov --test-reporter-destination=lcov.info a.test.mjs b.test.mjs',
      );
      expect(out.exitCode).toBe(1);
      const result = TEXT_PARSERS.tap({ text: out.stdout, stderr: out.stderr, root: node.dir });
      if (!result.ok) throw new Error(result.reason);
      expect(result.output.tests?.map((t) => [t.name, t.file, t.status])).toEqual([
        ['sign › is one for positives', undefined, 'passed'],
        ['sign › fails # on purpose', 'a.test.mjs', 'failed'],
        ['sign › is skipped', undefined, 'skipped'],
        ['sign › is todo', undefined, 'skipped'],
        ['top level', undefined, 'passed'],
        [`${node.dir}/b.test.mjs`, 'b.test.mjs', 'failed'],
      ]);
      expect(result.output.tests?.[1]?.message?.split('\n').slice(0, 3)).toEqual(['Expected values to be strictly equal:', '', '1 !== 2']);
      expect(result.output.tests?.[1]?.rerun).toEqual({ file: 'a.test.mjs', name: 'fails # on purpose', pattern: '^fails # on purpose$' });

      const lcov = TEXT_PARSERS.lcov({ text: await readText(join(node.dir, 'lcov.info')), stderr: '', root: node.dir });
      if (!lcov.ok) throw new Error(lcov.reason);
      expect(lcov.output.coverage?.files['lib.mjs']).toEqual({ lines: { covered: 4, total: 6, pct: 66.67 }, uncovered: [3, 4] });
    } finally {
      await node.cleanup();
    }
  });
});

describe('eslint --format json, biome lint --reporter=json, tsc', () => {
  const lintFiles = {
    'eslint.config.js':
      "import js from '@eslint/js';\nimport tseslint from 'typescript-eslint';\n\nexport default tseslint.config(js.configs.recommended, ...tseslint.configs.recommended, { rules: { 'no-console': 'warn' } });\n",
    'tsconfig.json': JSON.stringify({
      compilerOptions: { strict: true, module: 'nodenext', target: 'es2022', rootDir: 'src', types: [], skipLibCheck: true, noEmit: true },
      include: ['src'],
    }),
    'src/bad.ts':
      'export function f(): number {\n  const unused = 1;\n  console.log("x");\n  let y: any = 2;\n  return y;\n}\nexport const n: number = "text";\nexport const o: { a: number } = { a: "x" } as { a: string };\n',
    'src/broken.ts': 'export const = ;\n',
  };

  it('reads ESLint findings with rule, severity and a parse error without a rule', async () => {
    const lint = await toolProject({ 'package.json': '{ "type": "module" }\n', ...lintFiles });
    await symlink(NODE_MODULES, join(lint.dir, 'node_modules'), 'dir');
    try {
      const out = await runTool(lint.dir, `${NODE_BIN}/eslint --format json src`);
      expect(out.exitCode).toBe(1);
      expect(TEXT_PARSERS['eslint-json']({ text: out.stdout, stderr: out.stderr, root: lint.dir })).toEqual({
        ok: true,
        output: {
          warnings: [
            {
              rule: '@typescript-eslint/no-unused-vars',
              file: 'src/bad.ts',
              line: 2,
              column: 9,
              message: "'unused' is assigned a value but never used.",
              severity: 'error',
            },
            { rule: 'no-console', file: 'src/bad.ts', line: 3, column: 3, message: 'Unexpected console statement.', severity: 'warning' },
            { rule: 'prefer-const', file: 'src/bad.ts', line: 4, column: 7, message: "'y' is never reassigned. Use 'const' instead.", severity: 'error' },
            {
              rule: '@typescript-eslint/no-explicit-any',
              file: 'src/bad.ts',
              line: 4,
              column: 10,
              message: 'Unexpected any. Specify a different type.',
              severity: 'error',
            },
            { rule: 'parse-error', file: 'src/broken.ts', line: 1, column: 13, message: 'Parsing error: Variable declaration expected.', severity: 'error' },
          ],
        },
      });

      const biome = await runTool(lint.dir, `${NODE_BIN}/biome lint --reporter=json src/bad.ts`);
      expect(TEXT_PARSERS['biome-json']({ text: biome.stdout, stderr: biome.stderr, root: lint.dir })).toEqual({
        ok: true,
        output: {
          warnings: [
            {
              rule: 'lint/suspicious/noExplicitAny',
              file: 'src/bad.ts',
              line: 4,
              column: 10,
              message: 'Unexpected any. Specify a different type.',
              severity: 'warning',
            },
            {
              rule: 'lint/correctness/noUnusedVariables',
              file: 'src/bad.ts',
              line: 2,
              column: 9,
              message: 'This variable unused is unused.',
              severity: 'warning',
            },
            {
              rule: 'lint/style/useConst',
              file: 'src/bad.ts',
              line: 4,
              column: 3,
              message: 'This let declares a variable that is only assigned once.',
              severity: 'warning',
            },
          ],
        },
      });

      // A syntax error hides every other tsc diagnostic, so tsc first sees the file alone.
      const syntax = await runTool(lint.dir, `${NODE_BIN}/tsc -p tsconfig.json --pretty false`);
      expect(TEXT_PARSERS.tsc({ text: syntax.stdout, stderr: syntax.stderr, root: lint.dir })).toEqual({
        ok: true,
        output: { warnings: [{ rule: 'TS1134', file: 'src/broken.ts', line: 1, column: 14, message: 'Variable declaration expected.', severity: 'error' }] },
      });
      const plain = await runTool(lint.dir, `rm src/broken.ts && ${NODE_BIN}/tsc -p tsconfig.json --pretty false`);
      expect(plain.exitCode).toBe(2);
      const plainResult = TEXT_PARSERS.tsc({ text: plain.stdout, stderr: plain.stderr, root: lint.dir });
      expect(plainResult).toEqual({
        ok: true,
        output: {
          warnings: [
            { rule: 'TS2322', file: 'src/bad.ts', line: 7, column: 14, message: "Type 'string' is not assignable to type 'number'.", severity: 'error' },
            {
              rule: 'TS2322',
              file: 'src/bad.ts',
              line: 8,
              column: 14,
              message:
                "Type '{ a: string; }' is not assignable to type '{ a: number; }'.\nTypes of property 'a' are incompatible.\nType 'string' is not assignable to type 'number'.",
              severity: 'error',
            },
          ],
        },
      });
      const pretty = await runTool(lint.dir, `${NODE_BIN}/tsc -p tsconfig.json --pretty true`);
      expect(TEXT_PARSERS.tsc({ text: pretty.stdout, stderr: pretty.stderr, root: lint.dir })).toEqual(plainResult);
    } finally {
      await lint.cleanup();
    }
  });

  it('reads the public API from tsc --declaration output, following re-exports', async () => {
    const api = await toolProject({
      'tsconfig.json': JSON.stringify({
        compilerOptions: { strict: true, module: 'nodenext', target: 'es2022', rootDir: 'src', types: [], skipLibCheck: true },
        include: ['src'],
      }),
      'package.json': '{ "type": "module" }\n',
      'src/index.ts': `export { add, sub as subtract } from './math.js';
export * from './more.js';
export * as extra from './more.js';
export type { Shape } from './shapes.js';
export default function main(): void {}
export const VERSION = '1';
export interface Options { a: number }
export enum Color { Red }
export class Box { constructor(public v: number) {} }
export namespace Util { export const x = 1; }
export let counter = 0, other = 1;
function internal(): void {}
export { internal as exposed };
`,
      'src/math.ts':
        'export function add(a: number, b: number): number { return a + b; }\nexport function sub(a: number, b: number): number { return a - b; }\n',
      'src/more.ts': "export const more = 1;\nexport type Alias = string;\nexport default 'ignored by export *';\n",
      'src/shapes.ts': "export type Shape = { kind: 'circle' } | { kind: 'square' };\n",
    });
    await symlink(NODE_MODULES, join(api.dir, 'node_modules'), 'dir');
    try {
      const out = await runTool(api.dir, `${NODE_BIN}/tsc -p tsconfig.json --declaration --emitDeclarationOnly --outDir out`);
      expect(out.exitCode).toBe(0);
      const emitted = new Map<string, string>();
      for (const name of ['index.d.ts', 'math.d.ts', 'more.d.ts', 'shapes.d.ts']) emitted.set(name, await readText(join(api.dir, 'out', name)));
      const result = parseDeclarations(emitted, ['index.d.ts']);
      if (!result.ok) throw new Error(result.reason);
      expect(result.output.exports?.map((e) => [e.name, e.kind])).toEqual([
        ['add', 'function'],
        ['Alias', 'type'],
        ['Box', 'class'],
        ['Color', 'enum'],
        ['counter', 'let'],
        ['default', 'default'],
        ['exposed', 'function'],
        ['extra', 'namespace'],
        ['more', 'const'],
        ['Options', 'interface'],
        ['other', 'let'],
        ['Shape', 'type'],
        ['subtract', 'function'],
        ['Util', 'namespace'],
        ['VERSION', 'const'],
      ]);
      expect(result.output.exports?.find((e) => e.name === 'subtract')?.signature).toBe('export declare function sub(a: number, b: number): number');
    } finally {
      await api.cleanup();
    }
  });
});
