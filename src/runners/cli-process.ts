import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { OutputTail } from '../platform/process/output-tail.js';
import { guardProcessGroup } from '../platform/process/group-guard.js';

/** Why the adapter ended a CLI before it finished by itself. */
export type StopReason = 'timeout' | 'cancel' | 'no_progress' | 'permission_denied';

export interface CliProcessOptions {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  /** The complete environment: adapters decide what the CLI sees. */
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  /** Per stream; the tail is kept. */
  readonly maxOutputBytes: number;
  readonly killGraceMs: number;
  /** A file to read as stdin (a file, never a pipe left open); default: no stdin at all. */
  readonly stdinFile?: string | undefined;
  /** Every complete stdout line, as it arrives; `stop` ends the whole process group. */
  readonly onLine: (line: string, stop: (reason: StopReason, detail: string) => void) => void;
}

export type CliProcessResult =
  | { readonly started: false; readonly reason: 'not_found' | 'not_executable' | 'failed'; readonly message: string }
  | {
      readonly started: true;
      readonly exitCode: number | null;
      readonly signalName: string | null;
      readonly stopped?: { readonly reason: StopReason; readonly detail: string } | undefined;
      readonly stdout: string;
      readonly stderr: string;
      readonly truncated: boolean;
      readonly durationMs: number;
      readonly pid: number;
    };

/**
 * Runs a coding CLI like `runProcess` does (own process group, stdin closed, wall-clock timeout and
 * AbortSignal that kill the whole group, output caps keeping the tail) but hands over stdout line by
 * line while it runs: the adapters watch the event stream to stop a looping agent or a write outside
 * the worktree at once, and keep the partial stream of a call that had to be killed.
 */
export async function runCliProcess(options: CliProcessOptions): Promise<CliProcessResult> {
  const started = performance.now();
  const stdout = new OutputTail(options.maxOutputBytes);
  const stderr = new OutputTail(options.maxOutputBytes);
  let child: ChildProcess;
  let stdinFd: number | undefined;
  try {
    stdinFd = options.stdinFile === undefined ? undefined : openSync(options.stdinFile, 'r');
    child = spawn(options.command, [...options.args], {
      cwd: options.cwd,
      env: { ...options.env },
      // Never an open pipe: Codex waits forever on one, Claude Code for 3 s.
      stdio: [stdinFd ?? 'ignore', 'pipe', 'pipe'],
      detached: true,
      windowsHide: true,
    });
  } catch (error) {
    return spawnFailure(options.command, error);
  } finally {
    // The child has its own copy of the descriptor.
    if (stdinFd !== undefined) closeSync(stdinFd);
  }
  const failure = await new Promise<Error | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', resolve);
  });
  if (failure !== undefined) return spawnFailure(options.command, failure);
  const pid = child.pid;
  if (pid === undefined) return { started: false, reason: 'failed', message: `${options.command} started without a process id` };
  child.on('error', () => undefined);

  let stopped: { reason: StopReason; detail: string } | undefined;
  const stop = (reason: StopReason, detail: string): void => {
    if (guard.terminate()) stopped ??= { reason, detail };
  };
  const guard = guardProcessGroup(child, {
    pid,
    timeoutMs: options.timeoutMs,
    killGraceMs: options.killGraceMs,
    signal: options.signal,
    onTimeout: () => stop('timeout', `no answer within ${options.timeoutMs} ms`),
    onAbort: () => stop('cancel', 'the call was cancelled'),
  });

  let pending = '';
  const feed = (text: string): void => {
    pending += text;
    let newline = pending.indexOf('\n');
    while (newline >= 0) {
      const line = pending.slice(0, newline).replace(/\r$/, '');
      pending = pending.slice(newline + 1);
      if (line.trim() !== '') options.onLine(line, stop);
      newline = pending.indexOf('\n');
    }
    // A single line larger than the cap is noise, not an event; drop it rather than grow without bound.
    if (pending.length > options.maxOutputBytes) pending = '';
  };
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    stdout.push(Buffer.from(chunk));
    feed(chunk);
  });
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
  const closed = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) => resolve([code, signal]));
  });

  try {
    const [exitCode, signalName] = await closed;
    if (pending.trim() !== '') options.onLine(pending, stop);
    await guard.settled();
    return {
      started: true,
      exitCode,
      signalName,
      stopped,
      stdout: stdout.toString(),
      stderr: stderr.toString(),
      truncated: stdout.droppedBytes + stderr.droppedBytes > 0,
      durationMs: performance.now() - started,
      pid,
    };
  } finally {
    guard.dispose();
  }
}

function spawnFailure(command: string, error: unknown): CliProcessResult {
  const code = error instanceof Error ? (error as NodeJS.ErrnoException).code : undefined;
  if (code === 'ENOENT') return { started: false, reason: 'not_found', message: `${command} was not found; is it installed and on PATH?` };
  if (code === 'EACCES') return { started: false, reason: 'not_executable', message: `${command} is not executable` };
  return { started: false, reason: 'failed', message: `cannot start ${command}: ${error instanceof Error ? error.message : String(error)}` };
}
