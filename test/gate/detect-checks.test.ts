import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GateCheckConfigSchema } from '../../src/gate/gate-options.js';
import { pythonApiCommand } from '../../src/gate/api-commands.js';
import { declarationEntries, detectQualityChecks } from '../../src/gate/detect-checks.js';
import { writeFiles } from './fixture-repos.js';
import { goChecks } from './go-project.js';

/** What `tandem init` proposes for Go modules and Python projects (the CLI's own test covers the output it prints). */

let dir: string;
beforeEach(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'tandem-detect-')));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const goMod = 'module example.com/m\n\ngo 1.19\n';

/** Every detected check must be one the gate accepts, as gate-settings parses them. */
async function detect(): Promise<Awaited<ReturnType<typeof detectQualityChecks>>> {
  const detected = await detectQualityChecks(dir, { python: 'python3' });
  for (const check of detected.checks) GateCheckConfigSchema.parse(check);
  return detected;
}

describe('detectQualityChecks for a Go module', () => {
  it('proposes go test with its coverage profile, go vet and, for a library, its API: the checks the Go repository test runs', async () => {
    await writeFiles(dir, { 'go.mod': goMod, 'calc.go': '// Package calc adds.\npackage calc\n', 'cmd/tool/main.go': 'package main\n\nfunc main() {}\n' });
    const detected = await detect();
    expect(detected.found).toEqual(['go.mod: go test with coverage, go vet, its public API (go doc)']);
    expect(detected.checks.map((c) => c.runs_on)).toEqual([['SMALL', 'MEDIUM', 'LARGE'], undefined, ['SMALL', 'MEDIUM', 'LARGE']]);
    expect(detected.checks.map(({ runs_on: _runsOn, ...check }) => ({ ...check, timeout_ms: 60_000 }))).toEqual(goChecks());
  });

  it('proposes no API check for a module of commands, or whose packages are all internal', async () => {
    await writeFiles(dir, {
      'go.mod': goMod,
      'main.go': 'package main\n\nfunc main() {}\n',
      'internal/x/x.go': 'package x\n',
      'x_test.go': 'package lib_test\n',
    });
    const detected = await detect();
    expect(detected.found).toEqual(['go.mod: go test with coverage, go vet']);
    expect(detected.checks.map((c) => [c.name, c.parser])).toEqual([
      ['go-test', 'go-test-json'],
      ['go-vet', 'go-vet'],
    ]);
  });
});

describe('detectQualityChecks for a Python project', () => {
  it('proposes an API check over the top-level packages and those under src/, leaving out tests', async () => {
    await writeFiles(dir, {
      'pyproject.toml': '[project]\nname = "calc"\n[project.optional-dependencies]\ndev = ["pytest-cov", "flake8"]\n',
      'calc/__init__.py': '',
      'src/extra/__init__.py': '',
      'tests/__init__.py': '',
      'scripts/run.py': '',
    });
    const detected = await detect();
    expect(detected.found).toEqual(['Python project: pytest with coverage, flake8, its public API (calc, src/extra)']);
    expect(detected.checks.map((c) => [c.name, c.kind, c.parser, c.runs_on])).toEqual([
      ['tests', 'tests', 'junit-xml', ['SMALL', 'MEDIUM', 'LARGE']],
      ['lint', 'lint', 'flake8', undefined],
      ['api', 'api', 'python-api', ['SMALL', 'MEDIUM', 'LARGE']],
    ]);
    expect(detected.checks[2]?.command).toBe(pythonApiCommand('python3', ['calc', 'src/extra']));
  });

  it('proposes no API check when no package folder is found', async () => {
    await writeFiles(dir, { 'setup.cfg': '[flake8]\nmax-line-length = 100\n', 'script.py': '' });
    const detected = await detect();
    expect(detected.found).toEqual(['Python project: pytest, flake8']);
    expect(detected.checks.map((c) => c.name)).toEqual(['tests', 'lint']);
  });
});

describe('declarationEntries', () => {
  it('reads the public entry points of package.json as the declaration files tsc writes for them', () => {
    expect(declarationEntries({ types: 'dist/index.d.ts' })).toEqual(['index.d.ts']);
    expect(
      declarationEntries({
        exports: { '.': { types: './dist/index.d.ts', import: './dist/index.js' }, './nats': './dist/nats.js', './package.json': './package.json' },
      }),
    ).toEqual(['index.d.ts', 'nats.d.ts']);
    expect(declarationEntries({ exports: './lib/main.mjs' })).toEqual(['main.d.mts']);
    expect(declarationEntries({ exports: { './*': './dist/*.js' } })).toEqual([]);
  });
});
