import { mkdtemp, readFile, realpath, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerInitCommand } from '../../src/cli/init.js';
import type { CliIO } from '../../src/cli/io.js';
import { parseQualityFile } from '../../src/gate/quality-file.js';

let dir: string;
beforeEach(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'tandem-init-')));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function init(args: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  let code = -1;
  const io: CliIO = { cwd: dir, env: {}, stdout: { write: (s: string) => void (stdout += s) }, stderr: { write: (s: string) => void (stderr += s) }, signal: new AbortController().signal };
  const program = new Command('tandem').exitOverride();
  registerInitCommand(program, io, (c) => (code = c));
  await program.parseAsync(['init', ...args], { from: 'user' });
  return { code, stdout, stderr };
}

async function written(): Promise<{ name: string; parser?: string; runs_on?: string[] }[]> {
  const file = join(dir, '.tandem/quality.yaml');
  return (parseQualityFile(await readFile(file, 'utf8'), file).checks ?? []).map((c) => ({ name: c.name, ...(c.parser === undefined ? {} : { parser: c.parser }), ...(c.runs_on === undefined ? {} : { runs_on: c.runs_on }) }));
}

describe('tandem init', () => {
  it('detects a TypeScript package that publishes types: vitest with coverage, eslint, tsc and its API', async () => {
    await writeFile(join(dir, 'package.json'), JSON.stringify({ types: 'dist/index.d.ts', devDependencies: { vitest: '4', '@vitest/coverage-v8': '4', eslint: '10', typescript: '6' } }));
    await writeFile(join(dir, 'tsconfig.json'), '{}');
    expect(await init()).toEqual({
      code: 0,
      stdout: 'detected:\n  package.json: vitest with v8 coverage, eslint, typescript, its public API (declarations)\nwrote .tandem/quality.yaml with 4 checks: tests, lint, types, api\nnext: tandem gate --repo .\n',
      stderr: '',
    });
    expect(await written()).toEqual([
      { name: 'tests', parser: 'vitest-json', runs_on: ['SMALL', 'MEDIUM', 'LARGE'] },
      { name: 'lint', parser: 'eslint-json' },
      { name: 'types', parser: 'tsc' },
      { name: 'api', parser: 'declarations', runs_on: ['MEDIUM', 'LARGE'] },
    ]);
  });

  it('detects a Python project with ruff, mypy and pytest-cov, a Go module and a Rust crate', async () => {
    await writeFile(join(dir, 'pyproject.toml'), '[project]\nname = "x"\n[project.optional-dependencies]\ndev = ["pytest-cov", "mypy"]\n[tool.ruff]\nline-length = 100\n');
    await writeFile(join(dir, 'go.mod'), 'module example.com/x\n');
    await writeFile(join(dir, 'Cargo.toml'), '[package]\nname = "x"\n');
    await mkdir(join(dir, '.husky'));
    await writeFile(join(dir, '.husky/pre-commit'), 'npm test\n');
    const result = await init();
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n').slice(0, 6)).toEqual([
      'detected:',
      '  Python project: pytest with coverage, ruff, mypy',
      '  go.mod: go test with coverage, go vet',
      '  Cargo.toml: cargo test (exit code only: tandem has no parser for cargo output yet)',
      '  .husky/pre-commit: the pre-commit hook',
      'wrote .tandem/quality.yaml with 7 checks: tests, lint, types, go-test, go-vet, cargo-test, pre-commit',
    ]);
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
    expect(await init()).toEqual({ code: 0, stdout: 'wrote .tandem/quality.yaml with no checks: no package.json, pyproject.toml, setup.cfg, go.mod or Cargo.toml was found\n', stderr: '' });
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
});
