import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliProcess, type CliProcessOptions } from '../../src/runners/cli-process.js';
import { isProcessAlive } from '../../src/platform/process/process-group.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tandem-cli-process-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sh = (script: string, fields: Partial<CliProcessOptions> = {}) =>
  runCliProcess({
    command: '/bin/sh',
    args: ['-c', script],
    cwd: dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    timeoutMs: 10_000,
    signal: new AbortController().signal,
    maxOutputBytes: 1024 * 1024,
    killGraceMs: 500,
    onLine: () => undefined,
    ...fields,
  });

describe('runCliProcess', () => {
  it('hands over complete stdout lines as they come, and closes stdin', async () => {
    const lines: string[] = [];
    const result = await sh(`printf 'a\\nb'; sleep 0.1; printf 'c\\n'; cat; echo "stdin: $?"`, { onLine: (line) => lines.push(line) });
    expect(lines).toEqual(['a', 'bc', 'stdin: 0']);
    expect(result).toMatchObject({ started: true, exitCode: 0, stopped: undefined });
  });

  it('stops the whole process group from a line, background children included', async () => {
    const result = await sh(`sleep 30 & echo "child $!"; echo stop; sleep 30`, { onLine: (line, stop) => line === 'stop' && stop('no_progress', 'looping') });
    expect(result.started && result.stopped).toEqual({ reason: 'no_progress', detail: 'looping' });
    const child = Number(/child (\d+)/.exec(result.started ? result.stdout : '')?.[1]);
    expect(isProcessAlive(child)).toBe(false);
  });

  it('times out and is cancelled', async () => {
    const timedOut = await sh('sleep 30', { timeoutMs: 200 });
    expect(timedOut.started && timedOut.stopped?.reason).toBe('timeout');
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const cancelled = await sh('sleep 30', { signal: controller.signal });
    expect(cancelled.started && cancelled.stopped?.reason).toBe('cancel');
  });

  it('kills a process that ignores SIGTERM after the grace time', async () => {
    const started = Date.now();
    const result = await sh(`trap '' TERM; echo ready; while :; do sleep 0.05; done`, { timeoutMs: 200, killGraceMs: 300 });
    expect(result.started && result.signalName).toBe('SIGKILL');
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('keeps the tail of a talkative process', async () => {
    const result = await sh(`i=0; while [ $i -lt 2000 ]; do echo "line $i"; i=$((i+1)); done`, { maxOutputBytes: 100 });
    expect(result.started && result.truncated).toBe(true);
    expect(result.started && result.stdout.endsWith('line 1999\n')).toBe(true);
    expect(result.started && Buffer.byteLength(result.stdout)).toBeLessThanOrEqual(100);
  });

  it('reads stdin from a file when given one', async () => {
    const { writeFile } = await import('node:fs/promises');
    const file = path.join(dir, 'in.txt');
    await writeFile(file, 'from file\n');
    const lines: string[] = [];
    await sh('cat', { stdinFile: file, onLine: (l) => lines.push(l) });
    expect(lines).toEqual(['from file']);
  });

  it('reports a command that does not exist', async () => {
    const result = await runCliProcess({
      command: 'no-such-cli-here',
      args: [],
      cwd: dir,
      env: {},
      timeoutMs: 1_000,
      signal: new AbortController().signal,
      maxOutputBytes: 1_000,
      killGraceMs: 100,
      onLine: () => undefined,
    });
    expect(result).toEqual({ started: false, reason: 'not_found', message: 'no-such-cli-here was not found; is it installed and on PATH?' });
  });
});
