import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import type { GateCheckConfigSchema } from '../gate/gate-options.js';
import { InputError, errorMessage } from '../platform/errors.js';
import { GO_DOC_COMMAND, pythonApiCommand } from './api-commands.js';
import { choosePython } from './probe-tools.js';

type CheckInput = z.input<typeof GateCheckConfigSchema>;

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

const OUT = '$TANDEM_GATE_OUT';
/**
 * Tests and the API check are skipped only for TRIVIAL changes, which change no executable code
 * (docs, comments, layout); any change of code runs them.
 */
const NOT_TRIVIAL = ['SMALL', 'MEDIUM', 'LARGE'] as const;
/**
 * Go and Python API checks are `custom`, not `api`: the config schema still ties `kind: api` to
 * `parser: declarations`. The ratchet compares their exports all the same (it goes by the parser).
 */
const API_CHECK_KIND = 'api';
/** Folders that hold no library code: never searched for packages. */
const NOT_LIBRARY = new Set(['tests', 'test', 'testing', 'testdata', 'docs', 'examples', 'vendor', 'internal', 'node_modules', 'build', 'dist', 'venv', 'site-packages']);

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
    const config = [pyproject, setupCfg, requirementsDev, toxIni, flake8File === undefined ? undefined : `[flake8]\n${flake8File}`, (ruffToml ?? dotRuffToml) === undefined ? undefined : '[tool.ruff]'].filter((t) => t !== undefined).join('\n');
    let python = options.python;
    if (python === undefined) {
      const choice = await choosePython({ cwd: repoDir, env: options.env }, pythonModules(config, await exists(join(repoDir, 'mypy.ini'))));
      python = choice.python;
      notes.push(...choice.tried.map((t) => `python: ${t}`), `python: the checks use ${python}${choice.missing.length === 0 ? '' : ` (it lacks ${choice.missing.join(', ')}: install them, e.g. \`${python} -m pip install ${choice.missing.join(' ')}\`)`}`);
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

/**
 * go test with the coverage profile, go vet (its -json form names the analyzer of each finding and
 * exits 0 with findings, so the exit code is left to mean a broken run), and the API of the
 * module's library packages when it has one (a module of commands only has no API to keep).
 */
async function goChecks(repoDir: string, checks: CheckInput[]): Promise<string> {
  checks.push({
    name: 'go-test',
    kind: 'tests',
    parser: 'go-test-json',
    command: `go test -json -coverprofile=${OUT}/cover.out ./...`,
    coverage: { parser: 'go-cover', report: `${OUT}/cover.out` },
    rerun: 'go test -json -run {pattern} {file}',
    runs_on: [...NOT_TRIVIAL],
  });
  checks.push({ name: 'go-vet', kind: 'lint', parser: 'go-vet', command: 'go vet -json ./...' });
  const names = ['go test with coverage', 'go vet'];
  if (await hasGoLibrary(repoDir)) {
    names.push('its public API (go doc)');
    checks.push({ name: 'go-api', kind: API_CHECK_KIND, parser: 'go-doc', command: GO_DOC_COMMAND, runs_on: [...NOT_TRIVIAL] });
  }
  return `go.mod: ${names.join(', ')}`;
}

/** Whether some non-test Go file (outside internal/, testdata/, vendor/) belongs to a package other than main. */
async function hasGoLibrary(repoDir: string): Promise<boolean> {
  let budget = 500;
  const search = async (dir: string, depth: number): Promise<boolean> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (budget <= 0) return false;
      if (entry.isFile() && entry.name.endsWith('.go') && !entry.name.endsWith('_test.go')) {
        budget--;
        const head = ((await readText(join(dir, entry.name))) ?? '').slice(0, 8_192);
        const name = /^package\s+(\w+)/m.exec(head)?.[1];
        if (name !== undefined && name !== 'main') return true;
      }
    }
    if (depth >= 4) return false;
    for (const entry of entries) {
      if (entry.isDirectory() && !skippedFolder(entry.name) && (await search(join(dir, entry.name), depth + 1))) return true;
    }
    return false;
  };
  return search(repoDir, 0);
}

/** The package folders a Python API check reads: top-level folders with `__init__.py`, and those under `src/`. */
async function pythonPackages(repoDir: string): Promise<string[]> {
  const packages: string[] = [];
  for (const parent of ['', 'src']) {
    const entries = await readdir(join(repoDir, parent), { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const folder = parent === '' ? entry.name : `${parent}/${entry.name}`;
      if (entry.isDirectory() && !skippedFolder(entry.name) && (await exists(join(repoDir, folder, '__init__.py')))) packages.push(folder);
    }
  }
  return packages.sort();
}

function skippedFolder(name: string): boolean {
  return name.startsWith('.') || name.startsWith('_') || NOT_LIBRARY.has(name);
}

/** The modules the Python checks will import: pytest always, the others when the project names them. */
function pythonModules(config: string, mypyIni: boolean): string[] {
  const modules = ['pytest'];
  if (/pytest-cov|\[tool\.coverage|\[coverage:/.test(config)) modules.push('pytest_cov');
  if (!/\[tool\.ruff|\[ruff\]|\bruff\b/.test(config) && /\[flake8\]|\bflake8\b/.test(config)) modules.push('flake8');
  if (mypyIni || /\[tool\.mypy\]|\[mypy\]|\bmypy\b/.test(config)) modules.push('mypy');
  return modules;
}

function pythonChecks(config: string, checks: CheckInput[], mypyIni: boolean, packages: readonly string[], python: string): string[] {
  const names: string[] = [];
  const pytest = `PYTHONDONTWRITEBYTECODE=1 ${python} -m pytest -q -p no:cacheprovider`;
  const cov = /pytest-cov|\[tool\.coverage|\[coverage:/.test(config);
  names.push(cov ? 'pytest with coverage' : 'pytest');
  checks.push({
    name: 'tests',
    kind: 'tests',
    parser: 'junit-xml',
    report: `${OUT}/junit.xml`,
    command: cov ? `COVERAGE_FILE=${OUT}/.coverage ${pytest} --junitxml=${OUT}/junit.xml --cov --cov-report=xml:${OUT}/coverage.xml` : `${pytest} --junitxml=${OUT}/junit.xml`,
    ...(cov ? { coverage: { parser: 'cobertura' as const, report: `${OUT}/coverage.xml` } } : {}),
    rerun: `${pytest} --junitxml=${OUT}/junit.xml {file}`,
    runs_on: [...NOT_TRIVIAL],
  });
  if (/\[tool\.ruff|\[ruff\]|\bruff\b/.test(config)) {
    names.push('ruff');
    checks.push({ name: 'lint', kind: 'lint', parser: 'ruff-json', command: 'ruff check --output-format json .' });
  } else if (/\[flake8\]|\bflake8\b/.test(config)) {
    names.push('flake8');
    checks.push({ name: 'lint', kind: 'lint', parser: 'flake8', command: `${python} -m flake8 .` });
  }
  if (mypyIni || /\[tool\.mypy\]|\[mypy\]|\bmypy\b/.test(config)) {
    names.push('mypy');
    checks.push({ name: 'types', kind: 'types', parser: 'mypy', command: `${python} -m mypy --cache-dir=${OUT}/mypy --show-column-numbers .` });
  }
  if (packages.length > 0) {
    names.push(`its public API (${packages.join(', ')})`);
    checks.push({ name: 'api', kind: API_CHECK_KIND, parser: 'python-api', command: pythonApiCommand(python, packages), runs_on: [...NOT_TRIVIAL] });
  }
  return [`Python project: ${names.join(', ')}`];
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

async function readText(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').catch(() => undefined);
}

async function readJson(file: string): Promise<Record<string, unknown> | undefined> {
  const text = await readText(file);
  if (text === undefined) return undefined;
  try {
    return record(JSON.parse(text));
  } catch (error) {
    throw new InputError([{ file, message: `is not valid JSON: ${errorMessage(error)}` }], { cause: error });
  }
}
