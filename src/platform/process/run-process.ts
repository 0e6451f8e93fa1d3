import { spawn, type ChildProcess } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { WorkspaceError, errorMessage } from '../errors.js';
import { OutputTail } from './output-tail.js';
import { guardProcessGroup } from './group-guard.js';

export { isProcessAlive, killProcessGroup } from './process-group.js';

const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;
const DEFAULT_KILL_GRACE_MS = 2_000;
/** Node's timers overflow above this and would fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

export interface RunProcessOptions {
  readonly command: string;
  /**
   * Arguments. With `shell`, `command` is a shell script and these become its `$1`, `$2`… so they are
   * never re-parsed by the shell.
   */
  readonly args?: readonly string[];
  readonly shell?: boolean;
  readonly cwd: string;
  /** Added to (and overriding) `baseEnv`. */
  readonly env?: Readonly<Record<string, string>>;
  /** The environment the command starts from (default: this process's); e.g. `safeEnv(process.env)`. */
  readonly baseEnv?: Readonly<Record<string, string | undefined>>;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** Per stream (stdout, stderr and the interleaved one); the tail is kept. Default 1 MiB. */
  readonly maxOutputBytes?: number;
  /** Time between SIGTERM and SIGKILL to the group. Default 2 s. */
  readonly killGraceMs?: number;
  /** Called once the process runs, e.g. to record its pid so a restarted supervisor can kill it. */
  readonly onSpawn?: (pid: number) => void;
}

export interface ProcessResult {
  /** Null when the process was ended by a signal (or never started because the signal had aborted). */
  readonly exitCode: number | null;
  readonly signalName: string | null;
  readonly timedOut: boolean;
  readonly cancelled: boolean;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout and stderr in the order the chunks arrived. */
  readonly all: string;
  /** True when some output was dropped from the front to respect `maxOutputBytes`. */
  readonly outputTruncated: boolean;
  readonly durationMs: number;
  readonly pid: number | undefined;
}

type StopReason = 'timeout' | 'cancel';

/**
 * Runs a command in its own process group with stdin closed, a wall-clock timeout and cancellation.
 * A non-zero exit, a timeout and a cancel are results, not exceptions: only a command that cannot be
 * started at all throws a WorkspaceError. When the promise settles nothing of the group is left
 * running: on timeout or abort the whole group gets SIGTERM then SIGKILL, and processes the command
 * left behind in the background are ended the same way once it exits.
 */
export async function runProcess(options: RunProcessOptions): Promise<ProcessResult> {
  const timeoutMs = checkDuration('timeoutMs', options.timeoutMs);
  const killGraceMs = checkDuration('killGraceMs', options.killGraceMs ?? DEFAULT_KILL_GRACE_MS);
  const maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  await assertDirectory(options.cwd);

  const started = performance.now();
  const stdout = new OutputTail(maxOutputBytes);
  const stderr = new OutputTail(maxOutputBytes);
  const all = new OutputTail(maxOutputBytes);
  const result = (fields: Pick<ProcessResult, 'exitCode' | 'signalName' | 'timedOut' | 'cancelled' | 'pid'>): ProcessResult => ({
    ...fields,
    stdout: stdout.toString(),
    stderr: stderr.toString(),
    all: all.toString(),
    outputTruncated: stdout.droppedBytes + stderr.droppedBytes + all.droppedBytes > 0,
    durationMs: performance.now() - started,
  });

  if (options.signal?.aborted) {
    return result({ exitCode: null, signalName: null, timedOut: false, cancelled: true, pid: undefined });
  }

  const child = await start(options);
  const pid = child.pid;
  if (pid === undefined) throw new WorkspaceError(`${describe(options)} started without a process id`);
  // Errors after a successful spawn (a failed kill) must not crash the process as unhandled events.
  child.on('error', () => undefined);
  const onData = (tail: OutputTail) => (chunk: Buffer) => {
    tail.push(chunk);
    all.push(chunk);
  };
  child.stdout?.on('data', onData(stdout));
  child.stderr?.on('data', onData(stderr));
  const closed = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) => resolve([code, signal]));
  });

  let reason: StopReason | undefined;
  const stop = (why: StopReason): void => {
    if (guard.terminate()) reason ??= why;
  };
  const guard = guardProcessGroup(child, {
    pid,
    timeoutMs,
    killGraceMs,
    signal: options.signal,
    onTimeout: () => stop('timeout'),
    onAbort: () => stop('cancel'),
  });

  try {
    try {
      options.onSpawn?.(pid);
    } catch (error) {
      stop('cancel');
      await closed;
      await guard.settled();
      throw error;
    }
    const [exitCode, signalName] = await closed;
    await guard.settled();
    return result({ exitCode, signalName, timedOut: reason === 'timeout', cancelled: reason === 'cancel', pid });
  } finally {
    guard.dispose();
  }
}

async function start(options: RunProcessOptions): Promise<ChildProcess> {
  const args = options.args ?? [];
  const [file, argv] = options.shell ? ['/bin/sh', ['-c', options.command, 'sh', ...args]] : [options.command, [...args]];
  let child: ChildProcess;
  try {
    child = spawn(file, argv, {
      cwd: options.cwd,
      env: { ...(options.baseEnv ?? process.env), ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      windowsHide: true,
    });
  } catch (error) {
    throw spawnError(options, error);
  }
  const failure = await new Promise<Error | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', resolve);
  });
  if (failure !== undefined) throw spawnError(options, failure);
  return child;
}

function spawnError(options: RunProcessOptions, error: unknown): WorkspaceError {
  const code = error instanceof Error ? (error as NodeJS.ErrnoException).code : undefined;
  const file = options.shell ? '/bin/sh' : options.command;
  if (code === 'ENOENT') return new WorkspaceError(`command not found: ${file} (cwd ${options.cwd}); is it installed and on PATH?`, { cause: error });
  if (code === 'EACCES') return new WorkspaceError(`command is not executable: ${file} (cwd ${options.cwd})`, { cause: error });
  return new WorkspaceError(`cannot start ${describe(options)}: ${errorMessage(error)}`, { cause: error });
}

async function assertDirectory(cwd: string): Promise<void> {
  // spawn reports a missing cwd as ENOENT of the command, which would blame the wrong thing.
  const info = await stat(cwd).catch(() => undefined);
  if (!info?.isDirectory()) throw new WorkspaceError(`working directory does not exist: ${cwd}`);
}

function checkDuration(name: string, ms: number): number {
  if (!Number.isFinite(ms) || ms < 0 || ms > MAX_TIMER_MS) throw new RangeError(`${name} must be between 0 and ${MAX_TIMER_MS} ms, got ${ms}`);
  return ms;
}

function describe(options: RunProcessOptions): string {
  return options.shell ? `sh -c ${JSON.stringify(options.command)}` : [options.command, ...(options.args ?? [])].join(' ');
}
