import type { ErrorKind } from '../model/execution.js';
import type { ClassifiedError } from './classify-error.js';
import type { StopReason } from './cli-process.js';
import type { StreamOutcome } from './cli-stream.js';
import { isOutside } from './worktree-paths.js';

/**
 * Why a CLI call that ran to its end still failed, in the order the causes are checked: stopped
 * by tandem, an error the stream reported, a write outside the worktree the CLI refused, a
 * non-zero exit, a stream that never delivered its final result.
 */

/** What of the ended process the verdict needs. */
interface EndedProcess {
  readonly exitCode: number | null;
  readonly signalName: string | null;
  readonly stopped?: { readonly reason: StopReason; readonly detail: string } | undefined;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The call's error, or undefined when it completed. `roots` are the worktree's paths (as given and
 * real); `nonJson` is the first stdout line that was not JSON, if any.
 */
export function callFailure(
  runner: string,
  proc: EndedProcess,
  outcome: StreamOutcome,
  roots: readonly string[],
  nonJson: string | undefined,
): ClassifiedError | undefined {
  if (proc.stopped) return stoppedError(runner, proc.stopped.reason, proc.stopped.detail);
  if (outcome.error) return { ...outcome.error, message: `${runner}: ${outcome.error.message}` };
  const deniedOutside = outcome.denials.filter((d) => d.path !== undefined && roots.every((root) => isOutside(root, d.path ?? '')));
  if (deniedOutside.length > 0) {
    return {
      kind: 'permission_denied',
      message: `${runner}: the agent tried to write outside the worktree: ${deniedOutside.map((d) => `${d.tool} ${d.path ?? ''}`).join(', ')}`,
    };
  }
  if (proc.exitCode !== 0) {
    return { kind: 'crashed', message: `${runner} exited with ${describeExit(proc.exitCode, proc.signalName)}: ${tail(proc.stderr || proc.stdout)}` };
  }
  if (!outcome.completed) {
    const what =
      nonJson === undefined
        ? 'its output ended without a final result event'
        : `its output is not the expected JSON stream (first line: ${JSON.stringify(nonJson.slice(0, 200))})`;
    return { kind: 'bad_output', message: `${runner}: ${what}` };
  }
  return undefined;
}

function stoppedError(runner: string, reason: StopReason, detail: string): ClassifiedError {
  const kinds: Record<StopReason, ErrorKind> = { timeout: 'timeout', cancel: 'cancelled', no_progress: 'no_progress', permission_denied: 'permission_denied' };
  const prefix: Record<StopReason, string> = {
    timeout: 'stopped after its wall-clock timeout',
    cancel: 'cancelled',
    no_progress: 'stopped for making no progress',
    permission_denied: 'stopped',
  };
  return { kind: kinds[reason], message: `${runner}: ${prefix[reason]}: ${detail}` };
}

function describeExit(code: number | null, signalName: string | null): string {
  return code === null ? `signal ${signalName ?? 'unknown'}` : `code ${code}`;
}

function tail(text: string, max = 600): string {
  const trimmed = text.trim();
  return trimmed.length <= max ? trimmed : `…${trimmed.slice(-max)}`;
}
