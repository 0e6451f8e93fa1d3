import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { registerGateCommand } from '../../src/cli/gate.js';
import { registerInitCommand } from '../../src/cli/init.js';
import type { CliIO } from '../../src/cli/io.js';
import { GateReportSchema } from '../../src/model/gate-report.js';
import { createGitRepo, type GitRepo } from '../helpers/git-repo.js';

/** `tandem init` then `tandem gate` on a real repository with node's own test runner, in-process. */

async function tandem(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  let code = -1;
  const io: CliIO = {
    cwd,
    env: {},
    stdout: { write: (s: string) => void (stdout += s) },
    stderr: { write: (s: string) => void (stderr += s) },
    signal: new AbortController().signal,
  };
  const program = new Command('tandem').exitOverride();
  registerInitCommand(program, io, (c) => (code = c));
  registerGateCommand(program, io, (c) => (code = c));
  await program.parseAsync(args, { from: 'user' });
  return { code, stdout, stderr };
}

const project = {
  'package.json': `${JSON.stringify({ name: 'p', type: 'module', scripts: { test: 'node --test' } })}\n`,
  '.gitignore': '.tandem/gate-baselines/\n',
  'src/sign.js': 'export function sign(x) {\n  if (x < 0) {\n    return -1;\n  }\n  return 1;\n}\n',
  'test/sign.test.js':
    "import { test } from 'node:test';\nimport assert from 'node:assert/strict';\nimport { sign } from '../src/sign.js';\n\ntest('negative', () => assert.equal(sign(-2), -1));\ntest('positive', () => assert.equal(sign(2), 1));\n",
};

let repo: GitRepo | undefined;
afterEach(async () => {
  await repo?.cleanup();
  repo = undefined;
});

describe('tandem gate', () => {
  it('runs the checks `tandem init` wrote: passes a clean tree, fails a broken test with exit 1, prints JSON on request', async () => {
    repo = await createGitRepo(project);
    const init = await tandem(['init'], repo.dir);
    expect(init.code).toBe(0);
    expect(init.stderr).toBe('');
    expect(init.stdout).toMatch(
      /^detected:\n {2}package\.json: node --test\nchecked:\n {2}tests: `node --version` → v\d+\.\d+\.\d+\nkept \.tandem\/ \(tandem's state\) out of git status through \.git\/info\/exclude\nwrote \.tandem\/quality\.yaml with 1 check: tests\nnext: tandem gate --repo \.\n$/,
    );
    await repo.git('add', '.tandem/quality.yaml');
    await repo.git('commit', '--quiet', '-m', 'quality checks');

    await writeFile(join(repo.dir, 'README.md'), '# p\n\nNotes.\n');
    const trivial = await tandem(['gate', '--repo', '.'], repo.dir);
    expect(trivial.code).toBe(0);
    expect(trivial.stdout).toMatch(
      /^Quality gate PASSED: no checks ran \(TRIVIAL change: 3 lines in 1 file, 1 skipped\)\nbase [0-9a-f]{12} · areas: docs · checks from \.tandem\/quality\.yaml\n\nCHECK {2}KIND {2}RESULT {2}TIME {2}DETAILS\ntests {8}skip {4}- {5}runs on SMALL, MEDIUM, LARGE; this change is TRIVIAL\n$/,
    );

    // Comments and layout only: TRIVIAL, the tests need not run.
    await writeFile(
      join(repo.dir, 'src/sign.js'),
      '/** The sign of x. */\nexport function sign(x) {\n  if (x < 0) {  // negative\n\n    return -1;\n  }\n  return 1;\n}\n',
    );
    const comments = await tandem(['gate', '--repo', '.'], repo.dir);
    expect(comments.code).toBe(0);
    expect(comments.stdout.split('\n')[0]).toBe('Quality gate PASSED: no checks ran (TRIVIAL change: 7 lines in 2 files, 1 skipped)');

    // One line of code that breaks a test: never TRIVIAL, the tests run and fail; progress goes to stderr.
    await writeFile(join(repo.dir, 'src/sign.js'), project['src/sign.js'].replace('return -1;', 'return 1;'));
    const oneLine = await tandem(['gate', '--repo', '.'], repo.dir);
    expect(oneLine.code).toBe(1);
    expect(oneLine.stdout.split('\n')[0]).toBe('Quality gate FAILED: 1 of 1 checks failed: tests (1 failing test) (SMALL change: 5 lines in 2 files)');
    // The base is measured once, for the coverage it is compared with.
    expect(oneLine.stderr.replace(/\d+\.\d s/g, 'T')).toBe(
      'gate: tests started\ngate: tests failed in T\ngate: tests (base) started\ngate: tests (base) finished in T\n',
    );

    await writeFile(
      join(repo.dir, 'src/sign.js'),
      'export function sign(x) {\n  if (x < 0) {\n    return 1;\n  }\n  return 1;\n}\n// one\n// two\n// three\n// four\n',
    );
    const broken = await tandem(['gate', '--repo', '.'], repo.dir);
    expect(broken.code).toBe(1);
    const lines = broken.stdout.split('\n');
    expect(lines[0]).toBe('Quality gate FAILED: 1 of 1 checks failed: tests (1 failing test) (SMALL change: 9 lines in 2 files)');
    expect(lines.slice(3, 5).map((l) => l.replace(/\d+\.\d s/, 'T'))).toEqual([
      'CHECK  KIND   RESULT  TIME   DETAILS',
      'tests  tests  FAIL    T  1 failing test',
    ]);
    expect(lines.slice(6, 9)).toEqual(['── tests ──', lines[7], '1 failing test:']);
    expect(broken.stdout).toContain('✗ negative  [test/sign.test.js]\n    Expected values to be strictly equal:\n    \n    1 !== -1');

    const json = await tandem(['gate', '--repo', '.', '--json'], repo.dir);
    expect(json.code).toBe(1);
    const report = GateReportSchema.parse(JSON.parse(json.stdout));
    expect(report.regressions).toEqual([{ type: 'tests_failed', check: 'tests', count: 1, items: ['negative'] }]);
    expect(report.change).toEqual({ size: 'SMALL', lines: 9, files: 2, areas: ['source', 'docs'] });
    expect(report.verdict).toBe('failed');
    expect(report.checks[0]?.duration_ms).toBeGreaterThan(0);
    // The state dir is excluded through info/exclude, all but the quality file.
    expect(await readFile(join(repo.dir, '.git/info/exclude'), 'utf8')).toContain('/.tandem/*\n!/.tandem/quality.yaml\n');
  });

  it('exits 2 with the file, line and field of a bad quality file, a base that does not exist, or a folder outside git', async () => {
    repo = await createGitRepo({ '.tandem/quality.yaml': 'checks:\n  - name: tests\n    command: npm test\n    runs_on: [HUGE]\n' });
    const bad = await tandem(['gate'], repo.dir);
    expect(bad).toEqual({
      code: 2,
      stdout: '',
      stderr: `tandem: a problem in the input; nothing was started:\n  ${repo.dir}/.tandem/quality.yaml:4:15: checks[0].runs_on[0]: unknown runs_on \`HUGE\` (allowed: TRIVIAL, SMALL, MEDIUM, LARGE)\n`,
    });

    await writeFile(join(repo.dir, '.tandem/quality.yaml'), 'checks:\n  - name: tests\n    command: "true"\n');
    expect(await tandem(['gate', '--base', 'no-such-branch'], repo.dir)).toEqual({
      code: 2,
      stdout: '',
      stderr: `tandem: a problem in the input; nothing was started:\n  command line: --base: no commit "no-such-branch" in ${repo.dir}\n`,
    });
    const outside = await tandem(['gate', '--repo', '/'], repo.dir);
    expect(outside.code).toBe(2);
    expect(outside.stderr).toBe('tandem: a problem in the input; nothing was started:\n  command line: --repo: / is not inside a git repository\n');
  });
});
