import { runProcess } from '../platform/process/run-process.js';
import { safeEnv } from '../platform/process/safe-env.js';
import type { GateCheckConfig } from '../gate/gate-options.js';

/** What running one check produced, before any verdict: parsers and the ratchet read this. */
export interface CheckRun {
  readonly command: string;
  readonly exitCode: number | null;
  readonly signalName: string | null;
  readonly timedOut: boolean;
  readonly cancelled: boolean;
  readonly durationMs: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout and stderr interleaved, as a person would have seen them. */
  readonly output: string;
}

export interface RunCheckOptions {
  readonly cwd: string;
  readonly signal: AbortSignal;
  readonly onSpawn?: (pid: number) => void;
  /** Added to the check's environment, e.g. TANDEM_GATE_OUT. */
  readonly env?: Readonly<Record<string, string>>;
  /** Variables of this process the check may see besides the safe ones (`gate.env_allow`). */
  readonly envAllow?: readonly string[] | undefined;
}

/**
 * Environment of every check. CI makes tools behave as in a pipeline: no watch mode, no prompts, and
 * snapshot runners refuse to write missing snapshots instead of silently passing.
 */
const CHECK_ENV: Readonly<Record<string, string>> = { CI: 'true' };

/**
 * Runs one configured check through the shell in the worktree, with its timeout and the gate's
 * signal; the whole process group is killed on either. Throws only if the shell cannot start (for
 * example the worktree is gone), which is an environment failure and not a failed check.
 */
export async function runCheck(check: GateCheckConfig, options: RunCheckOptions): Promise<CheckRun> {
  const result = await runProcess({
    command: check.command,
    shell: true,
    cwd: options.cwd,
    // The repository's code never sees the service's model keys or bus credentials.
    baseEnv: safeEnv(process.env, options.envAllow),
    env: { ...CHECK_ENV, ...options.env },
    timeoutMs: check.timeout_ms,
    signal: options.signal,
    ...(options.onSpawn === undefined ? {} : { onSpawn: options.onSpawn }),
  });
  return {
    command: check.command,
    exitCode: result.exitCode,
    signalName: result.signalName,
    timedOut: result.timedOut,
    cancelled: result.cancelled,
    durationMs: result.durationMs,
    stdout: result.stdout,
    stderr: result.stderr,
    output: result.all,
  };
}
