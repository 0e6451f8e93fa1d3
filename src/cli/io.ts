import type { Command } from 'commander';

/**
 * What a command may touch of the outside world. Commands get it passed in (never reach for
 * process.* themselves), so tests run them in-process with captured output and their own env.
 */
export interface CliIO {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: { write(text: string): void; readonly isTTY?: boolean | undefined; readonly columns?: number | undefined };
  readonly stderr: { write(text: string): void; readonly isTTY?: boolean | undefined };
  /** Aborts on the first SIGINT/SIGTERM: commands start no new work, finish what runs and return. */
  readonly signal: AbortSignal;
  /** Aborts on the second SIGINT/SIGTERM: stop now, cancelling the work in flight. */
  readonly stopNow?: AbortSignal | undefined;
}

/**
 * Exit codes: 0 ok, 1 the work itself failed (a task FAILED or ABORTED, a gate failed), 2 bad
 * input (nothing was started), 3 some task waits for a person, 130 interrupted.
 */
export const ExitCode = { ok: 0, failed: 1, badInput: 2, waiting: 3, interrupted: 130 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * Each command module exports one `register…Command(program, io, done)`; the action reports its
 * exit code through `done` so that main() can return it instead of calling process.exit.
 */
export type RegisterCommand = (program: Command, io: CliIO, done: (code: ExitCode) => void) => void;
