import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WorkspaceError } from '../../../src/platform/errors.js';
import { isProcessAlive, killProcessGroup, runProcess } from '../../../src/platform/process/run-process.js';
import { groupSurvivors } from './group-survivors.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tandem-run-process-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('runProcess', () => {
  it('returns the exit code and the output of each stream and of both interleaved', async () => {
    const result = await runProcess({ command: 'echo out; sleep 0.1; echo err >&2; sleep 0.1; echo out2; exit 3', shell: true, cwd: dir, timeoutMs: 10_000 });
    expect(result.exitCode).toBe(3);
    expect(result.signalName).toBeNull();
    expect(result.timedOut).toBe(false);
    expect(result.cancelled).toBe(false);
    expect(result.stdout).toBe('out\nout2\n');
    expect(result.stderr).toBe('err\n');
    expect(result.all).toBe('out\nerr\nout2\n');
    expect(result.outputTruncated).toBe(false);
    expect(typeof result.pid).toBe('number');
  });

  it('runs a file without a shell, in cwd, with extra environment, and reports the pid to onSpawn', async () => {
    const pids: number[] = [];
    const result = await runProcess({
      command: process.execPath,
      args: ['-e', 'console.log(process.cwd(), process.env.TANDEM_TEST_VAR, process.argv[1]); process.exit(0)', 'a b'],
      cwd: dir,
      env: { TANDEM_TEST_VAR: 'value' },
      timeoutMs: 10_000,
      onSpawn: (pid) => pids.push(pid),
    });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe(`${dir} value a b\n`);
    expect(pids).toEqual([result.pid]);
  });

  it('passes shell arguments as positional parameters without re-parsing them', async () => {
    const result = await runProcess({ command: 'printf "%s|" "$1" "$2"', args: ['a b', '$HOME; exit 9'], shell: true, cwd: dir, timeoutMs: 10_000 });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe('a b|$HOME; exit 9|');
  });

  it('caps big output per stream and keeps the tail', async () => {
    const script =
      "const line = 'x'.repeat(1023) + '\\n'; for (let i = 0; i < 3072; i++) process.stdout.write(line); process.stdout.write('THE-END\\n'); process.stderr.write('small\\n');";
    const result = await runProcess({ command: process.execPath, args: ['-e', script], cwd: dir, timeoutMs: 30_000, maxOutputBytes: 64 * 1024 });
    expect(result.exitCode).toBe(0);
    expect(Buffer.byteLength(result.stdout)).toBe(64 * 1024);
    expect(result.stdout.endsWith('x\nTHE-END\n')).toBe(true);
    expect(result.stderr).toBe('small\n');
    expect(Buffer.byteLength(result.all)).toBe(64 * 1024);
    expect(result.outputTruncated).toBe(true);
  });

  it('on timeout kills the whole group, grandchildren included', async () => {
    let pid = 0;
    const result = await runProcess({
      command: 'sleep 100 & sleep 100; wait',
      shell: true,
      cwd: dir,
      timeoutMs: 300,
      onSpawn: (p) => (pid = p),
    });
    expect(result.timedOut).toBe(true);
    expect(result.cancelled).toBe(false);
    expect(result.exitCode).toBeNull();
    expect(result.signalName).toBe('SIGTERM');
    expect(result.durationMs).toBeLessThan(5_000);
    expect(pid).toBe(result.pid);
    expect(groupSurvivors(pid)).toEqual([]);
    expect(isProcessAlive(pid)).toBe(false);
  });

  it('sends SIGKILL after the grace period to a group that ignores SIGTERM', async () => {
    let pid = 0;
    const result = await runProcess({
      command: 'trap "" TERM; sleep 100 & sleep 100; wait',
      shell: true,
      cwd: dir,
      timeoutMs: 200,
      killGraceMs: 300,
      onSpawn: (p) => (pid = p),
    });
    expect(result.timedOut).toBe(true);
    expect(result.signalName).toBe('SIGKILL');
    expect(result.durationMs).toBeGreaterThanOrEqual(450);
    expect(result.durationMs).toBeLessThan(5_000);
    expect(groupSurvivors(pid)).toEqual([]);
  });

  it('ends processes the command left running in the background once it exits', async () => {
    let pid = 0;
    const result = await runProcess({ command: 'sleep 100 & echo started', shell: true, cwd: dir, timeoutMs: 30_000, onSpawn: (p) => (pid = p) });
    expect(result.exitCode).toBe(0);
    expect(result.timedOut).toBe(false);
    expect(result.stdout).toBe('started\n');
    expect(result.durationMs).toBeLessThan(5_000);
    expect(groupSurvivors(pid)).toEqual([]);
  });

  it('does not wait forever for a descendant that escaped the group and holds the pipes', async () => {
    const pidFile = join(dir, 'escaped.pid');
    const result = await runProcess({
      command: `setsid sh -c 'echo $$ > "$1"; exec sleep 30' sh "${pidFile}" & sleep 0.2; echo done`,
      shell: true,
      cwd: dir,
      timeoutMs: 30_000,
      killGraceMs: 200,
    });
    const escaped = Number(await readFile(pidFile, 'utf8'));
    try {
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toBe('done\n');
      expect(result.durationMs).toBeLessThan(5_000);
    } finally {
      killProcessGroup(escaped, 'SIGKILL');
    }
  });

  it('on abort kills the group and reports a cancel, not a timeout', async () => {
    const controller = new AbortController();
    let pid = 0;
    const running = runProcess({
      command: 'sleep 100 & sleep 100; wait',
      shell: true,
      cwd: dir,
      timeoutMs: 30_000,
      signal: controller.signal,
      onSpawn: (p) => (pid = p),
    });
    await sleep(200);
    controller.abort();
    const result = await running;
    expect(result.cancelled).toBe(true);
    expect(result.timedOut).toBe(false);
    expect(result.exitCode).toBeNull();
    expect(groupSurvivors(pid)).toEqual([]);
  });

  it('does not start anything when the signal has already aborted', async () => {
    const marker = join(dir, 'ran');
    const result = await runProcess({ command: `touch "${marker}"`, shell: true, cwd: dir, timeoutMs: 10_000, signal: AbortSignal.abort() });
    expect(result).toMatchObject({ cancelled: true, timedOut: false, exitCode: null, pid: undefined, stdout: '' });
    await expect(readFile(marker)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('throws a WorkspaceError naming the command that was not found', async () => {
    const error: unknown = await runProcess({ command: 'tandem-no-such-command', args: ['x'], cwd: dir, timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkspaceError);
    expect((error as Error).message).toBe(`command not found: tandem-no-such-command (cwd ${dir}); is it installed and on PATH?`);
  });

  it('throws a WorkspaceError naming a missing working directory', async () => {
    const missing = join(dir, 'missing');
    await expect(runProcess({ command: 'true', cwd: missing, timeoutMs: 10_000 })).rejects.toThrow(
      new WorkspaceError(`working directory does not exist: ${missing}`),
    );
  });

  it('reports a missing command under the shell as exit 127, a value', async () => {
    const result = await runProcess({ command: 'tandem-no-such-command', shell: true, cwd: dir, timeoutMs: 10_000 });
    expect(result.exitCode).toBe(127);
    expect(result.stderr).toContain('tandem-no-such-command');
  });
});

describe('process group helpers', () => {
  it('killProcessGroup returns false for a group that does not exist and isProcessAlive sees our own pid', () => {
    // Pids are capped well below 2^22 on Linux, so this group cannot exist.
    expect(killProcessGroup(4_194_999, 'SIGTERM')).toBe(false);
    expect(isProcessAlive(process.pid)).toBe(true);
    expect(isProcessAlive(4_194_999)).toBe(false);
  });

  it('refuses pids that would signal our own group or every process', () => {
    expect(() => killProcessGroup(0, 'SIGTERM')).toThrow(RangeError);
    expect(() => killProcessGroup(1, 'SIGTERM')).toThrow(RangeError);
  });
});
