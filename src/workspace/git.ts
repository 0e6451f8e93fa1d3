import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { WorkspaceError } from '../platform/errors.js';

export interface GitOptions {
  readonly signal?: AbortSignal;
  /** Extra environment, e.g. GIT_AUTHOR_* for commits. */
  readonly env?: Readonly<Record<string, string>>;
  /** Return the result instead of throwing on a non-zero exit. */
  readonly allowFailure?: boolean;
  readonly input?: string;
}

export interface GitResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

/**
 * Another git process holds one of the repository's lock files (index, a ref, config, worktrees).
 * Tasks of one repository run in parallel, and other tandem processes or the user's own git may
 * work in it too, so such a collision is expected and passes within moments.
 */
const LOCK_CONTENTION = /\.lock'?: File exists|cannot lock ref|could not lock config file|Unable to create '[^']+\.lock'/i;
const LOCK_RETRIES = 8;

/**
 * Runs git in `cwd`. Prompts are disabled so a credential helper can never hang a task, the output
 * is never localized so that messages can be matched, and a collision on a lock file is retried.
 */
export async function git(cwd: string, args: readonly string[], options: GitOptions = {}): Promise<GitResult> {
  for (let retry = 0; ; retry++) {
    const result = await execa('git', args, {
      cwd,
      reject: false,
      stripFinalNewline: true,
      ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
      ...(options.signal ? { cancelSignal: options.signal } : {}),
      env: { GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C', ...options.env },
      timeout: 120_000,
    });
    const exitCode = result.exitCode ?? -1;
    if (exitCode !== 0 && retry < LOCK_RETRIES && LOCK_CONTENTION.test(result.stderr) && !options.signal?.aborted) {
      await sleep(25 * 2 ** Math.min(retry, 5) * (0.5 + Math.random()));
      continue;
    }
    if (exitCode !== 0 && !options.allowFailure) {
      throw new WorkspaceError(`git ${args.join(' ')} failed in ${cwd} (exit ${exitCode}): ${(result.stderr || result.stdout).trim()}`, {
        retryable: LOCK_CONTENTION.test(result.stderr),
        cause: result,
      });
    }
    return { stdout: result.stdout, stderr: result.stderr, exitCode };
  }
}
