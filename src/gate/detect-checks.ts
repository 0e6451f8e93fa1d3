import { join } from 'node:path';
import { choosePython } from './probe-tools.js';
import { goChecks, pythonChecks, pythonModules, pythonPackages } from './detect-go-python.js';
import { exists, NOT_TRIVIAL, OUT, readJson, readText, record, type CheckInput } from './detect-support.js';

export interface DetectedChecks {
  readonly checks: CheckInput[];
  /** What was found, one line each, e.g. `package.json: vitest, eslint, typescript`. */
  readonly found: string[];
  /** How the Python interpreter was chosen, one line per candidate tried. */
  readonly notes: string[];
}

export interface DetectOptions {
  /** The Python interpreter for the checks; default: the one that has pytest (see `choosePython`), probed with `env`'s PATH. */
  readonly python?: string | undefined;
  readonly env?: Readonly<Record<string, string>> | undefined;
}

/**
 * The starting checks for a repository, from the tools it declares: package.json dependencies and
 * scripts, pyproject.toml / setup.cfg, go.mod and Cargo.toml. Reports go to `$TANDEM_GATE_OUT` so
 * nothing lands in the worktree; `npx --no --` never downloads a tool the repository does not have (and `--` keeps npx from taking the tool's flags, such as `-p`, as its own).
 */
export async function detectQualityChecks(repoDir: string, options: DetectOptions = {}): Promise<DetectedChecks> {
  const checks: CheckInput[] = [];
  const found: string[] = [];
  const notes: string[] = [];
  const pkg = await readJson(join(repoDir, 'package.json'));
  if (pkg !== undefined) found.push(...(await nodeChecks(repoDir, pkg, checks)));
  const pyproject = await readText(join(repoDir, 'pyproject.toml'));
  const setupCfg = await readText(join(repoDir, 'setup.cfg'));
  if (pyproject !== undefined || setupCfg !== undefined || (await exists(join(repoDir, 'requirements.txt')))) {
    const files = await Promise.all(['requirements-dev.txt', 'tox.ini', '.flake8', 'ruff.toml', '.ruff.toml'].map((f) => readText(join(repoDir, f))));
    const [requirementsDev, toxIni, flake8File, ruffToml, dotRuffToml] = files;
    // A file of the tool's own name is its configuration: `[flake8]` or `[tool.ruff]` is implied.
    const config = [
      pyproject,
      setupCfg,
      requirementsDev,
      toxIni,
      flake8File === undefined ? undefined : `[flake8]\n${flake8File}`,
      (ruffToml ?? dotRuffToml) === undefined ? undefined : '[tool.ruff]',
    ]
      .filter((t) => t !== undefined)
      .join('\n');
    let python = options.python;
    if (python === undefined) {
      const choice = await choosePython({ cwd: repoDir, env: options.env }, pythonModules(config, await exists(join(repoDir, 'mypy.ini'))));
      python = choice.python;
      notes.push(
        ...choice.tried.map((t) => `python: ${t}`),
        `python: the checks use ${python}${choice.missing.length === 0 ? '' : ` (it lacks ${choice.missing.join(', ')}: install them, e.g. \`${python} -m pip install ${choice.missing.join(' ')}\`)`}`,
      );
    }
    found.push(...pythonChecks(config, checks, await exists(join(repoDir, 'mypy.ini')), await pythonPackages(repoDir), python));
  }
  if (await exists(join(repoDir, 'go.mod'))) found.push(await goChecks(repoDir, checks));
  if (await exists(join(repoDir, 'Cargo.toml'))) {
    checks.push({ name: 'cargo-test', kind: 'tests', command: 'cargo test --quiet', runs_on: [...NOT_TRIVIAL], timeout_ms: 900_000 });
    found.push('Cargo.toml: cargo test (exit code only: tandem has no parser for cargo output yet)');
  }
  if (await exists(join(repoDir, '.pre-commit-config.yaml'))) {
    checks.push({ name: 'pre-commit', kind: 'hooks', command: 'pre-commit run --all-files --show-diff-on-failure' });
    found.push('.pre-commit-config.yaml: pre-commit hooks');
  } else if (await exists(join(repoDir, '.husky', 'pre-commit'))) {
    checks.push({ name: 'pre-commit', kind: 'hooks', command: 'sh .husky/pre-commit' });
    found.push('.husky/pre-commit: the pre-commit hook');
  }
  return { checks, found, notes };
}

async function nodeChecks(repoDir: string, pkg: Record<string, unknown>, checks: CheckInput[]): Promise<string[]> {
  const deps = { ...record(pkg.dependencies), ...record(pkg.devDependencies) };
  const has = (name: string): boolean => name in deps;
  const scripts = record(pkg.scripts);
  const names: string[] = [];
  const coverage = has('@vitest/coverage-v8') ? 'v8' : has('@vitest/coverage-istanbul') ? 'istanbul' : undefined;
  if (has('vitest')) {
    names.push(coverage === undefined ? 'vitest' : `vitest with ${coverage} coverage`);
    const reporter = `--reporter=json --outputFile=${OUT}/vitest.json`;
    checks.push({
      name: 'tests',
      kind: 'tests',
      parser: 'vitest-json',
      report: `${OUT}/vitest.json`,
      command:
        coverage === undefined
          ? `npx --no -- vitest run ${reporter}`
          : `npx --no -- vitest run ${reporter} --coverage.enabled --coverage.provider=${coverage} --coverage.reporter=lcov --coverage.reportsDirectory=${OUT}/coverage --coverage.reportOnFailure`,
      ...(coverage === undefined ? {} : { coverage: { parser: 'lcov' as const, report: `${OUT}/coverage/lcov.info` } }),
      rerun: `npx --no -- vitest run {file} -t {pattern} ${reporter}`,
      runs_on: [...NOT_TRIVIAL],
    });
  } else if (has('jest')) {
    names.push('jest with coverage');
    const reporter = `--ci --json --outputFile=${OUT}/jest.json`;
    checks.push({
      name: 'tests',
      kind: 'tests',
      parser: 'jest-json',
      report: `${OUT}/jest.json`,
      command: `npx --no -- jest ${reporter} --coverage --coverageReporters=lcov --coverageDirectory=${OUT}/coverage`,
      coverage: { parser: 'lcov', report: `${OUT}/coverage/lcov.info` },
      rerun: `npx --no -- jest ${reporter} {file} -t {pattern}`,
      runs_on: [...NOT_TRIVIAL],
    });
  } else if (typeof scripts.test === 'string' && scripts.test.includes('node --test')) {
    names.push('node --test');
    checks.push({
      name: 'tests',
      kind: 'tests',
      parser: 'tap',
      command: `node --test --experimental-test-coverage --test-reporter=tap --test-reporter-destination=stdout --test-reporter=lcov --test-reporter-destination=${OUT}/lcov.info`,
      coverage: { parser: 'lcov', report: `${OUT}/lcov.info` },
      rerun: 'node --test --test-reporter=tap --test-name-pattern={pattern} {file}',
      runs_on: [...NOT_TRIVIAL],
    });
  } else if (typeof scripts.test === 'string' && !scripts.test.includes('no test specified')) {
    names.push('npm test (exit code only)');
    checks.push({ name: 'tests', kind: 'tests', command: 'npm test --silent', runs_on: [...NOT_TRIVIAL] });
  }
  if (has('eslint')) {
    names.push('eslint');
    checks.push({ name: 'lint', kind: 'lint', parser: 'eslint-json', command: 'npx --no -- eslint --format json .' });
  } else if (has('@biomejs/biome')) {
    names.push('biome');
    checks.push({ name: 'lint', kind: 'lint', parser: 'biome-json', command: 'npx --no -- biome lint --reporter=json .' });
  }
  if (has('typescript') && (await exists(join(repoDir, 'tsconfig.json')))) {
    names.push('typescript');
    checks.push({ name: 'types', kind: 'types', parser: 'tsc', command: 'npx --no -- tsc -p tsconfig.json --noEmit --pretty false' });
    // A package that publishes types has a public API to keep.
    if (typeof pkg.types === 'string' || typeof pkg.typings === 'string' || pkg.exports !== undefined) {
      names.push('its public API (declarations)');
      const entries = declarationEntries(pkg);
      checks.push({
        name: 'api',
        kind: 'api',
        parser: 'declarations',
        report: `${OUT}/api`,
        ...(entries.length > 0 ? { entries } : {}),
        command: `npx --no -- tsc -p tsconfig.json --noEmit false --declaration --emitDeclarationOnly --declarationMap false --outDir ${OUT}/api`,
        runs_on: [...NOT_TRIVIAL],
      });
    }
  }
  return names.length === 0 ? [] : [`package.json: ${names.join(', ')}`];
}

/**
 * The declaration files of the package's entry points (`types`/`typings` and the `types`, `import`
 * or `default` condition of each `exports` entry), as tsc writes them under its outDir: the build
 * folder (dist/, build/, lib/, out/) dropped and `.js` turned into `.d.ts`. Only these make the
 * public API; other modules' exports are internal. Empty: the parser's default (index.d.ts).
 */
export function declarationEntries(pkg: Record<string, unknown>): string[] {
  const paths: string[] = [];
  const add = (value: unknown): void => {
    if (typeof value === 'string' && /\.(d\.[cm]?ts|[cm]?js|[cm]?ts)$/.test(value) && !value.includes('*')) paths.push(value);
  };
  add(pkg.types);
  add(pkg.typings);
  const target = (value: unknown): void => {
    if (typeof value === 'string') add(value);
    else {
      const conditions = record(value);
      const chosen = conditions.types ?? conditions.import ?? conditions.default ?? conditions.require;
      if (typeof chosen === 'string') add(chosen);
      else if (chosen !== undefined) target(chosen);
    }
  };
  const exportsField = pkg.exports;
  if (typeof exportsField === 'string') add(exportsField);
  else {
    const map = record(exportsField);
    const subpaths = Object.keys(map).some((k) => k.startsWith('.')) ? Object.values(map) : [map];
    for (const value of subpaths) target(value);
  }
  const entries = paths.map((p) =>
    p
      .replace(/^\.\//, '')
      .replace(/^(dist|build|lib|out|types)\//, '')
      .replace(/\.d\.([cm]?)ts$|\.([cm]?)[jt]s$/, (_, a?: string, b?: string) => `.d.${a ?? b ?? ''}ts`),
  );
  return [...new Set(entries)];
}
