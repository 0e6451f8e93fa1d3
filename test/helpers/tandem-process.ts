import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The real `tandem` binary (built dist/, see global-build.ts), started as a separate OS process. */
export const tandemBin = fileURLToPath(new URL('../../bin/tandem.js', import.meta.url));

export interface TandemProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  output(): string;
  /** Resolves with the exit code (or the signal name) when the process ends. */
  readonly exited: Promise<number | string>;
  /** Kills the process group (the CLI and anything it started) if still running. */
  stop(): void;
}

const running = new Set<TandemProcess>();

export function startTandem(args: readonly string[], options: { cwd: string; env?: Record<string, string> }): TandemProcess {
  const child = spawn(process.execPath, [tandemBin, ...args], {
    cwd: options.cwd,
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const pid = child.pid;
  if (pid === undefined) throw new Error('tandem did not start');
  const proc: TandemProcess = {
    child,
    pid,
    output: () => out,
    exited,
    stop() {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    },
  };
  running.add(proc);
  void exited.then(() => running.delete(proc));
  return proc;
}

/** For afterEach: no tandem process of a test outlives it. */
export function stopAllTandems(): void {
  for (const proc of running) proc.stop();
  running.clear();
}

/** The stored record of a task, read straight from the file store (as `tandem status` would). */
export async function readTaskState(stateDir: string, taskId: string): Promise<string | undefined> {
  const text = await readFile(join(stateDir, 'store', 'tasks', `${taskId}.json`), 'utf8').catch(() => undefined);
  if (!text) return undefined;
  try {
    return (JSON.parse(text) as { value?: { state?: string } }).value?.state;
  } catch {
    return undefined;
  }
}

/** Polls until `check` returns a value, within `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
