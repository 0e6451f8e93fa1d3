import { mkdtemp, readdir, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GateConfigSchema, type GateConfigInputForTests } from './gate-config-input.js';
import { createRatchetGate } from '../../src/gate/ratchet-gate.js';
import type { GateReport } from '../../src/model/gate-report.js';
import { createGitRepo, type GitRepo } from '../helpers/git-repo.js';
import { groupSurvivors } from '../platform/process/group-survivors.js';

/** The gate's mechanics with small shell checks: sizes, flaky tests, unreadable output, timeouts, the base. */

let repo: GitRepo;
let scratch: string;

beforeEach(async () => {
  repo = await createGitRepo({ 'README.md': '# demo\n', 'src/app.txt': 'one\n' });
  scratch = await realpath(await mkdtemp(join(tmpdir(), 'tandem-ratchet-')));
});
afterEach(async () => {
  await repo.cleanup();
  await rm(scratch, { recursive: true, force: true });
});

const settings = (input: GateConfigInputForTests) => GateConfigSchema.parse(input);
const run = (gate: ReturnType<typeof createRatchetGate>, signal = new AbortController().signal): Promise<GateReport> =>
  gate.run({ cwd: repo.dir, taskId: 'T1', stepId: 'S1', baseCommit: repo.head, signal });
const body = (report: GateReport, name: string): string => (report.checks.find((c) => c.name === name)?.excerpt ?? '').split('\n').slice(1).join('\n');

/** A TAP test runner whose second test fails on the first run of all and passes when run again alone. */
async function flakyRunner(): Promise<string> {
  const state = join(scratch, 'ran-once');
  const script = join(scratch, 'tap.sh');
  await writeFile(
    script,
    `if [ -n "$1" ]; then printf 'TAP version 13\\nok 1 - sometimes\\n1..1\\n'; exit 0; fi
if [ -e ${state} ]; then printf 'TAP version 13\\nok 1 - stable\\nok 2 - sometimes\\n1..2\\n'; exit 0; fi
touch ${state}
printf 'TAP version 13\\nok 1 - stable\\nnot ok 2 - sometimes\\n  ---\\n  error: |-\\n    timed out waiting for the port\\n  ...\\n1..2\\n'
exit 1
`,
  );
  return script;
}

describe('createRatchetGate', () => {
  it('runs only the checks of the change size and says why the others were skipped', async () => {
    await writeFile(join(repo.dir, 'README.md'), '# demo\n\nMore words.\n');
    const gate = createRatchetGate({
      settings: settings({
        checks: [
          { name: 'lint', kind: 'lint', command: 'true' },
          { name: 'tests', kind: 'tests', command: 'false', runs_on: ['SMALL', 'MEDIUM', 'LARGE'] },
        ],
      }),
    });
    const report = await run(gate);

    expect(report.change).toEqual({ size: 'TRIVIAL', lines: 2, files: 1, areas: ['docs'] });
    expect(report.checks.map((c) => c.name)).toEqual(['lint']);
    expect(report.skipped).toEqual([{ name: 'tests', reason: 'runs on SMALL, MEDIUM, LARGE; this change is TRIVIAL' }]);
    expect(report.passed).toBe(true);
    expect(report.summary).toBe('1/1 checks passed (TRIVIAL change: 2 lines in 1 file, 1 skipped)');
  });

  it('reports a test that passes when re-run alone as flaky, and fails the step under the default policy', async () => {
    const script = await flakyRunner();
    const check = { name: 'tests', kind: 'tests' as const, parser: 'tap' as const, command: `sh ${script}`, rerun: `sh ${script} {pattern}` };
    const report = await run(createRatchetGate({ settings: settings({ checks: [check] }) }));

    expect(report.passed).toBe(false);
    expect(report.flaky).toEqual([{ check: 'tests', name: 'sometimes' }]);
    expect(report.summary).toBe('1 of 1 checks failed: tests (1 failing test) (TRIVIAL change: 0 lines in 0 files, 1 flaky test)');
    expect(body(report, 'tests')).toBe(['1 failing test:', '✗ sometimes (flaky: passed when re-run alone)', '    timed out waiting for the port'].join('\n'));
    expect(report.checks[0]?.flaky).toEqual(['sometimes']);
    expect(report.checks[0]?.metrics).toMatchObject({ tests_total: 2, tests_failed: 1, tests_flaky: 1 });
  });

  it('passes a flaky test with a warning when the policy says warn', async () => {
    const script = await flakyRunner();
    const check = { name: 'tests', kind: 'tests' as const, parser: 'tap' as const, command: `sh ${script}`, rerun: `sh ${script} {pattern}` };
    const report = await run(createRatchetGate({ settings: settings({ checks: [check], flaky_tests: 'warn' }) }));

    expect(report.passed).toBe(true);
    expect(report.flaky).toEqual([{ check: 'tests', name: 'sometimes' }]);
    expect(body(report, 'tests')).toBe('1 passed, 0 failed, 0 skipped; 1 flaky test (failed, then passed when re-run alone): sometimes');
  });

  it('never passes output its parser cannot read, whatever the exit code', async () => {
    const gate = createRatchetGate({
      settings: settings({
        checks: [
          { name: 'crashed', kind: 'lint', parser: 'eslint-json', command: "echo 'Oops! Something went wrong'; exit 2" },
          { name: 'silent', kind: 'types', parser: 'tsc', command: "echo 'tsc is not what you think'" },
        ],
      }),
    });
    const report = await run(gate);

    expect(report.passed).toBe(false);
    expect(report.checks.map((c) => [c.name, c.passed])).toEqual([
      ['crashed', false],
      ['silent', false],
    ]);
    // Both fail exactly so on the base commit too: the change did not cause it, so a person is asked.
    expect(report.verdict).toBe('environment');
    expect(body(report, 'crashed').split('\n').slice(0, 2)).toEqual([
      `This check could not run on this machine, so it says nothing about the change (an environment problem for a person, not for the implementer): exit 2, the same as on the base commit ${repo.head.slice(0, 12)}: Oops! Something went wrong`,
      'Fix: the check fails on the base commit as well, so the change did not cause it: repair the check (its command or tools in .tandem/quality.yaml) or the base, then retry the step',
    ]);
    expect(report.regressions?.map((r) => [r.check, r.type])).toEqual([
      ['crashed', 'environment'],
      ['silent', 'check_failed'],
    ]);
  });

  it('fails a hook that fails, and kills a check that runs past its timeout with its whole process group', async () => {
    const pids: number[] = [];
    const gate = createRatchetGate({
      settings: settings({
        checks: [
          { name: 'pre-commit', kind: 'hooks', command: 'echo "trailing whitespace in src/app.txt"; exit 1' },
          { name: 'slow', kind: 'tests', command: 'sleep 100 & sleep 100; wait', timeout_ms: 300 },
        ],
      }),
      onSpawn: ({ pid }) => pids.push(pid),
    });
    const report = await run(gate);

    // The hook fails the same way on the base: not this change's fault. A timeout is never blamed on the base.
    expect(report.regressions).toEqual([
      {
        type: 'environment',
        check: 'pre-commit',
        count: 1,
        items: [`exit 1, the same as on the base commit ${repo.head.slice(0, 12)}: trailing whitespace in src/app.txt`],
      },
      { type: 'check_failed', check: 'slow', count: 1, items: ['timed out (limit 300 ms)'] },
    ]);
    expect(pids).toHaveLength(3);
    expect(groupSurvivors(pids[1] ?? 0)).toEqual([]);
  });

  it('measures the base once per commit, in a temporary worktree that is removed, and reuses the cache across gates', async () => {
    // The base has one warning; the change adds a second one and moves the first.
    const lintScript = `cat src/app.txt | awk '/TODO/ { printf "src/app.txt:%d:1: W001 todo left: %s\\n", NR, $0 }'; grep -q TODO src/app.txt && exit 1; exit 0`;
    await writeFile(join(repo.dir, 'src/app.txt'), 'TODO base\n');
    await repo.git('commit', '--quiet', '-am', 'base with a todo');
    const base = await repo.git('rev-parse', 'HEAD');
    await writeFile(join(repo.dir, 'src/app.txt'), 'new line\nTODO base\nTODO step\n');
    const baselineDir = join(scratch, 'baselines');
    let spawned = 0;
    const make = () =>
      createRatchetGate({
        settings: settings({ checks: [{ name: 'lint', kind: 'lint', parser: 'flake8', command: lintScript }] }),
        baselineDir,
        scratchDir: join(scratch, 'work'),
        onSpawn: () => spawned++,
      });
    const input = { cwd: repo.dir, taskId: 'T1', stepId: 'S1', baseCommit: base, signal: new AbortController().signal };
    const first = await make().run(input);
    const second = await make().run(input);

    expect(spawned).toBe(3);
    expect(body(second, 'lint')).toBe(body(first, 'lint'));
    expect(body(first, 'lint')).toBe(['1 new warning that the base does not have (base 1, now 2):', 'src/app.txt:3:1 W001 todo left: TODO step'].join('\n'));
    expect(await readdir(baselineDir)).toEqual([`${base}.json`]);
    expect(await readdir(join(scratch, 'work'))).toEqual([]);
    expect(await repo.git('worktree', 'list', '--porcelain')).toBe(`worktree ${repo.dir}\nHEAD ${base}\nbranch refs/heads/main`);
  });

  it('judges every warning as new when the base’s output cannot be read, and says so', async () => {
    await writeFile(join(repo.dir, 'src/app.txt'), 'step\n');
    const command = 'if grep -q step src/app.txt; then echo "src/app.txt:1:1: W001 something"; exit 1; else echo "lint crashed"; exit 3; fi';
    const report = await run(createRatchetGate({ settings: settings({ checks: [{ name: 'lint', kind: 'lint', parser: 'flake8', command }] }) }));

    expect(report.passed).toBe(false);
    expect(body(report, 'lint')).toBe(
      [
        "1 warning; every one counts as new because the base could not be measured (the base's output could not be read: stdout could not be read as flake8: none of its lines reads as a flake8 diagnostic):",
        'src/app.txt:1:1 W001 something',
      ].join('\n'),
    );
  });

  it('throws on a base commit the repository does not have: an environment error, not a verdict', async () => {
    const gate = createRatchetGate({ settings: settings({ checks: [{ name: 'lint', command: 'true' }] }) });
    await expect(gate.run({ cwd: repo.dir, taskId: 'T1', stepId: 'S1', baseCommit: 'f'.repeat(40), signal: new AbortController().signal })).rejects.toThrow(
      /git diff --numstat/,
    );
  });

  it('does not pass when aborted, and starts no later check', async () => {
    const controller = new AbortController();
    const gate = createRatchetGate({
      settings: settings({
        checks: [
          { name: 'first', command: 'sleep 5' },
          { name: 'second', command: `touch ${join(scratch, 'second-ran')}` },
        ],
      }),
      onSpawn: () => setTimeout(() => controller.abort(), 50),
    });
    const report = await run(gate, controller.signal);

    expect(report.passed).toBe(false);
    expect(report.summary).toBe('cancelled after 1 of 2 checks started (TRIVIAL change: 0 lines in 0 files)');
    expect(await readdir(scratch)).toEqual([]);
  });
});
