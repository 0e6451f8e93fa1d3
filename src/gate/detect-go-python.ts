import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { GO_DOC_COMMAND, pythonApiCommand } from './api-commands.js';
import { API_CHECK_KIND, exists, NOT_LIBRARY, NOT_TRIVIAL, OUT, readText, type CheckInput } from './detect-support.js';

/* The Go and Python checks `tandem init` proposes (detect-checks.ts decides which apply). */

/**
 * go test with the coverage profile, go vet (its -json form names the analyzer of each finding and
 * exits 0 with findings, so the exit code is left to mean a broken run), and the API of the
 * module's library packages when it has one (a module of commands only has no API to keep).
 */
export async function goChecks(repoDir: string, checks: CheckInput[]): Promise<string> {
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
export async function pythonPackages(repoDir: string): Promise<string[]> {
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
export function pythonModules(config: string, mypyIni: boolean): string[] {
  const modules = ['pytest'];
  if (/pytest-cov|\[tool\.coverage|\[coverage:/.test(config)) modules.push('pytest_cov');
  if (!/\[tool\.ruff|\[ruff\]|\bruff\b/.test(config) && /\[flake8\]|\bflake8\b/.test(config)) modules.push('flake8');
  if (mypyIni || /\[tool\.mypy\]|\[mypy\]|\bmypy\b/.test(config)) modules.push('mypy');
  return modules;
}

export function pythonChecks(config: string, checks: CheckInput[], mypyIni: boolean, packages: readonly string[], python: string): string[] {
  const names: string[] = [];
  const pytest = `PYTHONDONTWRITEBYTECODE=1 ${python} -m pytest -q -p no:cacheprovider`;
  const cov = /pytest-cov|\[tool\.coverage|\[coverage:/.test(config);
  names.push(cov ? 'pytest with coverage' : 'pytest');
  checks.push({
    name: 'tests',
    kind: 'tests',
    parser: 'junit-xml',
    report: `${OUT}/junit.xml`,
    command: cov
      ? `COVERAGE_FILE=${OUT}/.coverage ${pytest} --junitxml=${OUT}/junit.xml --cov --cov-report=xml:${OUT}/coverage.xml`
      : `${pytest} --junitxml=${OUT}/junit.xml`,
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
