import { execFile } from 'node:child_process';
import { mkdtemp, readFile, realpath, rm, symlink, writeFile, mkdir } from 'node:fs/promises';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerInitCommand } from '../../src/cli/init.js';
import type { CliIO } from '../../src/cli/io.js';
import { parseQualityFile } from '../../src/gate/quality-file.js';
import { NODE_MODULES } from '../gate/fixture-repos.js';

async function git(...args: string[]): Promise<string> {
  return (await promisify(execFile)('git', args, { cwd: dir })).stdout;
}

let dir: string;
beforeEach(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'tandem-init-')));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function init(args: string[] = [], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  let code = -1;
  const io: CliIO = {
    cwd: dir,
    env,
    stdout: { write: (s: string) => void (stdout += s) },
    stderr: { write: (s: string) => void (stderr += s) },
    signal: new AbortController().signal,
  };
  const program = new Command('tandem').exitOverride();
  registerInitCommand(program, io, (c) => (code = c));
  await program.parseAsync(['init', ...args], { from: 'user' });
  return { code, stdout, stderr };
}

async function written(): Promise<{ name: string; parser?: string; runs_on?: string[] }[]> {
  const file = join(dir, '.tandem/quality.yaml');
  return (parseQualityFile(await readFile(file, 'utf8'), file).checks ?? []).map((c) => ({
    name: c.name,
    ...(c.parser === undefined ? {} : { parser: c.parser }),
    ...(c.runs_on === undefined ? {} : { runs_on: c.runs_on }),
  }));
}

describe('tandem init', () => {
  it('detects a TypeScript package that publishes types: vitest with coverage, eslint, tsc and its API', async () => {
    await writeFile(
      join(dir, 'package.json'),
      JSON.stringify({ types: 'dist/index.d.ts', devDependencies: { vitest: '4', '@vitest/coverage-v8': '4', eslint: '10', typescript: '6' } }),
    );
    await writeFile(join(dir, 'tsconfig.json'), '{}');
    await symlink(NODE_MODULES, join(dir, 'node_modules'), 'dir');
    await git('init', '--quiet');
    const result = await init();
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe('detected:');
    expect(lines[1]).toBe('  package.json: vitest with v8 coverage, eslint, typescript, its public API (declarations)');
    // Every proposed tool was asked for its version, and answered.
    expect(lines[2]).toBe('checked:');
    expect(lines[3]).toMatch(/^ {2}tests: `npx --no -- vitest --version` → vitest\/4\.\d+\.\d+ /);
    expect(lines[4]).toMatch(/^ {2}lint: `npx --no -- eslint --version` → v\d+\.\d+\.\d+$/);
    expect(lines[5]).toMatch(/^ {2}types: `npx --no -- tsc --version` → Version \d+\.\d+\.\d+$/);
    expect(lines[6]).toMatch(/^ {2}api: `npx --no -- tsc --version` → Version \d+\.\d+\.\d+$/);
    expect(lines.slice(7)).toEqual([
      "kept .tandem/ (tandem's state) out of git status through .git/info/exclude",
      'wrote .tandem/quality.yaml with 4 checks: tests, lint, types, api',
      'next: tandem gate --repo .',
      '',
    ]);
    expect(result.stderr).toBe('');
    // The state dir is excluded (in .git/info/exclude, never .gitignore), the quality file stays visible to git.
    expect((await readFile(join(dir, '.git/info/exclude'), 'utf8')).split('\n').slice(-3)).toEqual(['/.tandem/*', '!/.tandem/quality.yaml', '']);
    await mkdir(join(dir, '.tandem/gate-baselines'), { recursive: true });
    await writeFile(join(dir, '.tandem/gate-baselines/x.json'), '{}');
    expect(await git('status', '--porcelain', '--untracked-files=all')).toBe('?? .tandem/quality.yaml\n?? node_modules\n?? package.json\n?? tsconfig.json\n');
    expect(await written()).toEqual([
      { name: 'tests', parser: 'vitest-json', runs_on: ['SMALL', 'MEDIUM', 'LARGE'] },
      { name: 'lint', parser: 'eslint-json' },
      { name: 'types', parser: 'tsc' },
      { name: 'api', parser: 'declarations', runs_on: ['SMALL', 'MEDIUM', 'LARGE'] },
    ]);
  });

  it('detects a Python project with ruff, mypy and pytest-cov, a Go module and a Rust crate', async () => {
    await writeFile(
      join(dir, 'pyproject.toml'),
      '[project]\nname = "x"\n[project.optional-dependencies]\ndev = ["pytest-cov", "mypy"]\n[tool.ruff]\nline-length = 100\n',
    );
    await writeFile(join(dir, 'go.mod'), 'module example.com/x\n');
    await writeFile(join(dir, 'Cargo.toml'), '[package]\nname = "x"\n');
    await mkdir(join(dir, '.husky'));
    await writeFile(join(dir, '.husky/pre-commit'), 'npm test\n');
    const result = await init();
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n').slice(0, 5)).toEqual([
      'detected:',
      '  Python project: pytest with coverage, ruff, mypy',
      '  go.mod: go test with coverage, go vet',
      '  Cargo.toml: cargo test (exit code only: tandem has no parser for cargo output yet)',
      '  .husky/pre-commit: the pre-commit hook',
    ]);
    expect(result.stdout).toContain('\nwrote .tandem/quality.yaml with 7 checks: tests, lint, types, go-test, go-vet, cargo-test, pre-commit\n');
    // What cannot run is said at once (no ruff on this machine; Debian's python3 has pytest-cov and mypy).
    expect(result.stdout).toContain('python: the checks use /usr/bin/python3\n');
    expect(result.stdout).toContain(
      'could not set up (the gate will report these as `environment` until the tool is installed):\n  lint: `ruff --version` failed: sh: 1: ruff: not found\n',
    );
    expect(await written()).toEqual([
      { name: 'tests', parser: 'junit-xml', runs_on: ['SMALL', 'MEDIUM', 'LARGE'] },
      { name: 'lint', parser: 'ruff-json' },
      { name: 'types', parser: 'mypy' },
      { name: 'go-test', parser: 'go-test-json', runs_on: ['SMALL', 'MEDIUM', 'LARGE'] },
      { name: 'go-vet', parser: 'go-vet' },
      { name: 'cargo-test', runs_on: ['SMALL', 'MEDIUM', 'LARGE'] },
      { name: 'pre-commit' },
    ]);
  });

  it('refuses to overwrite an existing file without --force, and writes an empty list when it finds nothing', async () => {
    expect(await init()).toEqual({
      code: 0,
      stdout: 'wrote .tandem/quality.yaml with no checks: no package.json, pyproject.toml, setup.cfg, go.mod or Cargo.toml was found\n',
      stderr: '',
    });
    expect(await written()).toEqual([]);
    expect(await init()).toEqual({
      code: 2,
      stdout: '',
      stderr: `tandem: a problem in the input; nothing was started:\n  ${dir}/.tandem/quality.yaml: already exists; pass --force to overwrite it\n`,
    });
    await writeFile(join(dir, 'package.json'), JSON.stringify({ scripts: { test: 'node --test' } }));
    expect((await init(['--force'])).code).toBe(0);
    expect(await written()).toEqual([{ name: 'tests', parser: 'tap', runs_on: ['SMALL', 'MEDIUM', 'LARGE'] }]);
  });

  it('picks the Python interpreter that has the tools when a venv- or pyenv-style python3 without them comes first on PATH, and reads .flake8', async () => {
    const fakeBin = join(dir, 'fake-bin');
    await mkdir(fakeBin);
    // Like a fresh pyenv or venv python3: a working interpreter without the system's site-packages, so none of the tools.
    for (const name of ['python3', 'python']) await writeFile(join(fakeBin, name), '#!/bin/sh\nexec /usr/bin/python3 -I -S "$@"\n', { mode: 0o755 });
    await writeFile(join(dir, 'pyproject.toml'), '[project]\nname = "calc"\n');
    await writeFile(join(dir, '.flake8'), '[flake8]\nmax-line-length = 100\n');
    await mkdir(join(dir, 'calc'));
    await writeFile(join(dir, 'calc/__init__.py'), '');
    const result = await init([], { PATH: `${fakeBin}:${process.env.PATH ?? ''}` });

    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines.slice(0, 2)).toEqual(['detected:', '  Python project: pytest, flake8, its public API (calc)']);
    expect(lines.slice(2, 6)).toEqual([
      'python: python3: lacks pytest, flake8',
      'python: python: lacks pytest, flake8',
      'python: /usr/bin/python3: has pytest, flake8',
      'python: the checks use /usr/bin/python3',
    ]);
    expect(lines[6]).toBe('checked:');
    expect(lines[8]).toMatch(/^ {2}lint: `\/usr\/bin\/python3 -m flake8 --version` → \d+\.\d+/);
    expect(result.stdout).not.toContain('could not set up');
    const file = join(dir, '.tandem/quality.yaml');
    const checks = parseQualityFile(await readFile(file, 'utf8'), file).checks ?? [];
    expect(checks.map((c) => [c.name, c.parser, c.command.includes('/usr/bin/python3 '), /(^|[ ;])python3? /.test(c.command)])).toEqual([
      ['tests', 'junit-xml', true, false],
      ['lint', 'flake8', true, false],
      ['api', 'python-api', true, false],
    ]);
  });

  it("prefers the project's own virtualenv", async () => {
    await writeFile(join(dir, 'setup.cfg'), '[metadata]\nname = calc\n');
    await mkdir(join(dir, '.venv/bin'), { recursive: true });
    await symlink('/usr/bin/python3', join(dir, '.venv/bin/python'));
    const result = await init();
    expect(result.stdout).toContain('python: the checks use .venv/bin/python\n');
    const file = join(dir, '.tandem/quality.yaml');
    expect((parseQualityFile(await readFile(file, 'utf8'), file).checks ?? [])[0]?.command).toContain(' .venv/bin/python -m pytest ');
  });
});
