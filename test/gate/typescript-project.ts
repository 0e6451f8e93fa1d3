import type { GateCheckConfig } from '../../src/gate/gate-options.js';

/**
 * A small TypeScript library checked by tsc, ESLint and Vitest with v8 coverage, and whose public
 * API is read from tsc's declaration output. `src/legacy.ts` carries a lint error the base already
 * has, so the ratchet must let it stand (and must not see it as new when lines above it move).
 */
export const typescriptProject: Readonly<Record<string, string>> = {
  '.gitignore': 'node_modules\n',
  'package.json': `${JSON.stringify({ name: 'calc', version: '1.0.0', type: 'module', types: 'dist/index.d.ts' }, null, 2)}\n`,
  'tsconfig.json': `${JSON.stringify(
    {
      compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', rootDir: 'src', types: [], skipLibCheck: true },
      include: ['src'],
    },
    null,
    2,
  )}\n`,
  'eslint.config.js': `import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(js.configs.recommended, ...tseslint.configs.recommended);
`,
  'src/index.ts': `export { add, clamp, sub } from './math.js';
export { legacyTotal } from './legacy.js';
`,
  'src/math.ts': `export function add(a: number, b: number): number {
  return a + b;
}

export function sub(a: number, b: number): number {
  return a - b;
}

export function clamp(value: number, min: number, max: number): number {
  if (value < min) {
    return min;
  }
  if (value > max) {
    return max;
  }
  return value;
}
`,
  'src/legacy.ts': `export function legacyTotal(values: number[]): number {
  let total = 0;
  for (const v of values) total += v;
  let unchanged = total;
  return unchanged;
}
`,
  'src/math.test.ts': `import { describe, expect, it } from 'vitest';
import { add, clamp, sub } from './math.js';
import { legacyTotal } from './legacy.js';

describe('math', () => {
  it('adds', () => expect(add(2, 3)).toBe(5));
  it('subtracts', () => expect(sub(5, 3)).toBe(2));
  it('clamps below the minimum', () => expect(clamp(-1, 0, 10)).toBe(0));
  it('clamps above the maximum', () => expect(clamp(11, 0, 10)).toBe(10));
  it('keeps values in range', () => expect(clamp(5, 0, 10)).toBe(5));
  it('totals', () => expect(legacyTotal([1, 2])).toBe(3));
});
`,
};

const bin = 'node_modules/.bin';

/** The checks a user would configure for this project (what `tandem init` writes, spelled out). */
export const typescriptChecks: GateCheckConfig[] = [
  { name: 'types', kind: 'types', parser: 'tsc', command: `${bin}/tsc -p tsconfig.json --noEmit --pretty false`, timeout_ms: 60_000 },
  { name: 'lint', kind: 'lint', parser: 'eslint-json', command: `${bin}/eslint --format json .`, timeout_ms: 60_000 },
  {
    name: 'tests',
    kind: 'tests',
    parser: 'vitest-json',
    report: '$TANDEM_GATE_OUT/vitest.json',
    command:
      `${bin}/vitest run --no-cache --reporter=json --outputFile=$TANDEM_GATE_OUT/vitest.json --coverage.enabled --coverage.provider=v8 ` +
      `--coverage.reporter=lcov --coverage.reportsDirectory=$TANDEM_GATE_OUT/coverage --coverage.include='src/**' --coverage.exclude='src/**/*.test.ts' --coverage.reportOnFailure`,
    coverage: { parser: 'lcov', report: '$TANDEM_GATE_OUT/coverage/lcov.info' },
    rerun: `${bin}/vitest run --no-cache {file} -t {pattern} --reporter=json --outputFile=$TANDEM_GATE_OUT/vitest.json`,
    timeout_ms: 60_000,
  },
  {
    name: 'api',
    kind: 'api',
    parser: 'declarations',
    report: '$TANDEM_GATE_OUT/api',
    command: `${bin}/tsc -p tsconfig.json --declaration --emitDeclarationOnly --outDir $TANDEM_GATE_OUT/api`,
    timeout_ms: 60_000,
  },
];
