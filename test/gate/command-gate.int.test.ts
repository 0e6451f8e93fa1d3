import { mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GateCheckConfig } from '../../src/gate/gate-options.js';
import { InputError } from '../../src/platform/errors.js';
import { createCommandGate, detectDefaultChecks } from '../../src/gate/command-gate.js';
import { groupSurvivors } from '../platform/process/group-survivors.js';

let cwd: string;
beforeEach(async () => {
  cwd = await realpath(await mkdtemp(join(tmpdir(), 'tandem-gate-')));
});
afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

const check = (name: string, command: string, timeout_ms = 30_000): GateCheckConfig => ({ name, kind: 'custom', command, timeout_ms });
const runInput = (signal: AbortSignal = new AbortController().signal) => ({ cwd, taskId: 'task-1', stepId: 'S1', baseCommit: 'abc', signal });

describe('createCommandGate', () => {
  it('passes when every check exits 0, running each in the worktree with CI set', async () => {
    const gate = createCommandGate({ checks: [check('where', 'pwd; echo "CI=$CI"'), { ...check('unit', 'echo ok'), kind: 'tests' }], excerptLines: 10 });
    const report = await gate.run(runInput());

    expect(report.passed).toBe(true);
    expect(report.summary).toBe('2/2 checks passed');
    expect(report.checks.map((c) => [c.name, c.kind, c.command, c.passed, c.exit_code, c.timed_out])).toEqual([
      ['where', 'custom', 'pwd; echo "CI=$CI"', true, 0, false],
      ['unit', 'tests', 'echo ok', true, 0, false],
    ]);
    expect(report.checks[0]?.excerpt).toMatch(new RegExp(`^\\$ pwd; echo "CI=\\$CI" → exit 0 after \\d+\\.\\d s\\n${cwd}\\nCI=true$`));
    expect(report.checks[1]?.metrics).toEqual({});
  });

  it('fails with the last lines of the output, colours stripped, and still runs the later checks', async () => {
    const lint = check(
      'lint',
      `for i in $(seq 1 100); do echo "line $i"; done; sleep 0.1; printf '\\033[31mFAIL\\033[0m src/x.test.ts\\n' >&2; sleep 0.1; printf 'progress 10%%\\rprogress 100%%\\n'; exit 1`,
    );
    const after = check('after', 'touch ran-after');
    const report = await createCommandGate({ checks: [lint, after], excerptLines: 5 }).run(runInput());

    expect(report.passed).toBe(false);
    expect(report.summary).toBe('1 of 2 checks failed: lint');
    const [failed, second] = report.checks;
    expect(failed?.passed).toBe(false);
    expect(failed?.exit_code).toBe(1);
    const [header, ...tail] = (failed?.excerpt ?? '').split('\n');
    expect(header).toMatch(/^\$ for i in .* → exit 1 after \d+\.\d s$/);
    expect(tail).toEqual(['line 98', 'line 99', 'line 100', 'FAIL src/x.test.ts', 'progress 100%']);
    expect(second?.passed).toBe(true);
    expect(await readFile(join(cwd, 'ran-after'), 'utf8')).toBe('');
  });

  it('says so when a failing check printed nothing', async () => {
    const report = await createCommandGate({ checks: [check('quiet', 'exit 3')], excerptLines: 5 }).run(runInput());
    expect(report.checks[0]?.excerpt).toMatch(/^\$ exit 3 → exit 3 after \d+\.\d s\n\(no output\)$/);
  });

  it('fails a check that times out and kills its whole process group', async () => {
    const pids: { taskId: string; stepId: string; pid: number }[] = [];
    const gate = createCommandGate({
      checks: [check('slow', 'echo started; sleep 100 & sleep 100; wait', 300)],
      excerptLines: 5,
      onSpawn: (info) => pids.push(info),
    });
    const report = await gate.run(runInput());

    expect(report.passed).toBe(false);
    expect(report.summary).toBe('1 of 1 checks failed: slow (timed out)');
    const [slow] = report.checks;
    expect(slow?.timed_out).toBe(true);
    expect(slow?.exit_code).toBeNull();
    expect(slow?.excerpt).toMatch(/^\$ echo started; sleep 100 & sleep 100; wait → timed out after 0\.\d s \(limit 0\.3 s\)\nstarted$/);
    expect(pids).toHaveLength(1);
    expect(pids[0]).toMatchObject({ taskId: 'task-1', stepId: 'S1' });
    expect(groupSurvivors(pids[0]?.pid ?? 0)).toEqual([]);
  });

  it('stops at an abort: the running check is killed, later checks do not run, the report does not pass', async () => {
    const pids: number[] = [];
    const controller = new AbortController();
    const gate = createCommandGate({
      checks: [check('long', 'sleep 100 & sleep 100; wait'), check('never', 'touch should-not-exist')],
      excerptLines: 5,
      onSpawn: ({ pid }) => pids.push(pid),
    });
    const running = gate.run(runInput(controller.signal));
    await sleep(200);
    controller.abort();
    const report = await running;

    expect(report.passed).toBe(false);
    expect(report.summary).toBe('cancelled after 1 of 2 checks started');
    expect(report.checks.map((c) => c.name)).toEqual(['long']);
    expect(report.checks[0]?.excerpt).toMatch(/^\$ sleep 100 & sleep 100; wait → cancelled after \d+\.\d s\n\(no output\)$/);
    expect(pids).toHaveLength(1);
    expect(groupSurvivors(pids[0] ?? 0)).toEqual([]);
    await expect(readFile(join(cwd, 'should-not-exist'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('runs nothing when the signal has already aborted', async () => {
    const report = await createCommandGate({ checks: [check('never', 'touch should-not-exist')], excerptLines: 5 }).run(runInput(AbortSignal.abort()));
    expect(report).toMatchObject({ passed: false, checks: [], summary: 'cancelled after 0 of 1 checks started' });
    await expect(readFile(join(cwd, 'should-not-exist'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('passes with no checks configured', async () => {
    const report = await createCommandGate({ checks: [], excerptLines: 5 }).run(runInput());
    expect(report).toMatchObject({ passed: true, checks: [], summary: 'no checks configured' });
  });
});

describe('detectDefaultChecks', () => {
  it('uses npm test when package.json has a real test script', async () => {
    await writeFile(join(cwd, 'package.json'), JSON.stringify({ name: 'x', scripts: { test: 'vitest run' } }));
    expect(await detectDefaultChecks(cwd)).toEqual([{ name: 'test', kind: 'tests', command: 'npm test --silent', timeout_ms: 300_000 }]);
  });

  it("ignores npm's placeholder script, a missing script and a missing package.json", async () => {
    expect(await detectDefaultChecks(cwd)).toEqual([]);
    await writeFile(join(cwd, 'package.json'), JSON.stringify({ scripts: { test: 'echo "Error: no test specified" && exit 1' } }));
    expect(await detectDefaultChecks(cwd)).toEqual([]);
    await writeFile(join(cwd, 'package.json'), JSON.stringify({ name: 'x', scripts: { build: 'tsc' } }));
    expect(await detectDefaultChecks(cwd)).toEqual([]);
  });

  it('reports an invalid package.json as an input error naming the file', async () => {
    await writeFile(join(cwd, 'package.json'), '{ "scripts": ');
    const error: unknown = await detectDefaultChecks(cwd).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).issues).toHaveLength(1);
    expect((error as InputError).issues[0]?.file).toBe(join(cwd, 'package.json'));
    expect((error as InputError).issues[0]?.message).toMatch(/^is not valid JSON: /);
  });
});
