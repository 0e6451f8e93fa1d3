import { randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WorkspaceError } from '../platform/errors.js';
import { runProcess } from '../platform/process/run-process.js';
import { safeEnv } from '../platform/process/safe-env.js';
import { git } from './git.js';
import { removeStaleGitLocks } from './stale-git-locks.js';
import { withLockFile } from './worktree-lock.js';

const TandemTrailer = {
  task: 'Tandem-Task',
  step: 'Tandem-Step',
  attempt: 'Tandem-Attempt',
  implementer: 'Tandem-Implementer',
  reviewer: 'Tandem-Reviewer',
  gate: 'Tandem-Gate',
} as const;

/** tandem commits under its own name, so it works without a git config and never impersonates the user. */
const TANDEM_IDENTITY: Readonly<Record<string, string>> = {
  GIT_AUTHOR_NAME: 'tandem',
  GIT_AUTHOR_EMAIL: 'tandem@localhost',
  GIT_COMMITTER_NAME: 'tandem',
  GIT_COMMITTER_EMAIL: 'tandem@localhost',
};

const DEFAULT_HOOK_TIMEOUT_MS = 10 * 60_000;
const TRAILER_KEY = /^[A-Za-z0-9][A-Za-z0-9-]*$/;
const RESERVED_KEYS = new Set<string>([TandemTrailer.task, TandemTrailer.step, TandemTrailer.attempt].map((k) => k.toLowerCase()));

export interface CommitStepInput {
  readonly taskId: string;
  readonly stepId: string;
  readonly attempt: number;
  readonly message: string;
  /** Extra trailers, e.g. `Tandem-Implementer`, `Tandem-Reviewer`, `Tandem-Gate`. */
  readonly trailers?: Readonly<Record<string, string>>;
  /**
   * The task's base commit: only commits after it count when looking for an earlier commit of this
   * step. Without it, commits reachable from any other local branch are left out, so that a merged
   * earlier run of the same task id is not mistaken for this one.
   */
  readonly baseCommit?: string;
  /** Wall-clock limit of the commit, i.e. of the repository's pre-commit and commit-msg hooks. */
  readonly hookTimeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface StepCommit {
  readonly sha: string;
  readonly stepId: string;
  readonly subject: string;
}

/**
 * Commits everything in the worktree as the step's commit. Idempotent: if a commit since the base
 * already carries this task's, step's and attempt's trailers it is returned with `created: false`, so a
 * supervisor killed between committing and recording it does not commit twice after a restart.
 * The repository's hooks run (they are part of the quality story); a refusal is a WorkspaceError
 * carrying the hook's output. Nothing is ever committed empty: a step with no staged change makes no
 * commit and gets no sha (a report step; a code step never gets here without a change).
 */
export async function commitStep(path: string, input: CommitStepInput): Promise<StepCommitResult> {
  // Serialized per worktree with resets: the same step committed by two supervisors at once (one of
  // them stale, its lease lost) lands once, and a reset never reads HEAD from under a commit.
  return withWorktreeChangeLock(path, () => commitLocked(path, input));
}

/** The step's commit; `sha` is undefined when there was nothing to commit. */
export interface StepCommitResult {
  readonly sha: string | undefined;
  readonly created: boolean;
}

async function commitLocked(path: string, input: CommitStepInput): Promise<StepCommitResult> {
  const trailers = stepTrailers(input);
  const existing = await findStepCommit(path, input, input.baseCommit);
  if (existing !== undefined) return { sha: existing, created: false };

  await git(path, ['add', '-A']);
  const staged = await git(path, ['diff', '--cached', '--quiet'], { allowFailure: true });
  if (staged.exitCode === 0) return { sha: undefined, created: false };
  // The trailers form the message's last paragraph, which is where git looks for them. Built here rather
  // than by `git interpret-trailers`, which would slot them above any trailing `#` lines of the message.
  const subject = input.message.trim() === '' ? `Step ${input.stepId}` : input.message.trim();
  const message = `${subject}\n\n${trailers.map(([key, value]) => `${key}: ${value}`).join('\n')}\n`;
  const gitDir = (await git(path, ['rev-parse', '--absolute-git-dir'])).stdout.trim();
  const messageFile = join(gitDir, `tandem-commit-msg-${randomUUID()}`);
  await writeFile(messageFile, message);
  try {
    // Through runProcess, not the git helper: hooks may run test suites, so the commit gets the same
    // timeout and process-group kill as every other command.
    const result = await runProcess({
      command: 'git',
      // Signing would need the user's key and may prompt; tandem's commits are signed by no one.
      // The cleanup mode is pinned so a `#` line in the message survives any commit.cleanup config.
      args: ['-c', 'commit.gpgSign=false', 'commit', '--quiet', '--cleanup=whitespace', '-F', messageFile],
      cwd: path,
      // Hooks are the repository's code: they get no model keys or credentials.
      baseEnv: safeEnv(process.env),
      env: { ...TANDEM_IDENTITY, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' },
      timeoutMs: input.hookTimeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS,
      ...(input.signal === undefined ? {} : { signal: input.signal }),
    });
    if (result.exitCode !== 0 || result.timedOut || result.cancelled) {
      const outcome = result.timedOut
        ? `timed out after ${Math.round(result.durationMs)} ms`
        : result.cancelled
          ? 'was cancelled'
          : `failed (exit ${result.exitCode ?? result.signalName ?? 'unknown'})`;
      throw new WorkspaceError(
        `commit of step ${input.stepId} of task ${input.taskId} in ${path} ${outcome}; a pre-commit or commit-msg hook may have refused it:\n${result.all.trim()}`,
        { retryable: false, cause: result },
      );
    }
  } finally {
    await rm(messageFile, { force: true });
  }
  const sha = (await git(path, ['rev-parse', 'HEAD'])).stdout.trim();
  return { sha, created: true };
}

/** The step commits on the worktree's branch since `baseCommit`, oldest first. */
export async function stepCommits(path: string, baseCommit: string): Promise<StepCommit[]> {
  const commits = await tandemCommits(path, [`${baseCommit}..HEAD`]);
  return commits
    .reverse()
    .filter((c) => c.stepId !== '')
    .map(({ sha, stepId, subject }) => ({ sha, stepId, subject }));
}

/**
 * This attempt's commit of the step. The attempt is part of the key: a failed validation sends the
 * last step back for a fix-up, a later attempt whose commit comes on top of the step's first one.
 */
async function findStepCommit(
  path: string,
  step: Pick<CommitStepInput, 'taskId' | 'stepId' | 'attempt'>,
  baseCommit: string | undefined,
): Promise<string | undefined> {
  let range: string[];
  if (baseCommit !== undefined) {
    range = [`${baseCommit}..HEAD`];
  } else {
    const branch = await git(path, ['symbolic-ref', '--quiet', 'HEAD'], { allowFailure: true });
    // --exclude takes branch names as --branches lists them, without refs/heads/.
    const name = branch.stdout.trim().replace(/^refs\/heads\//, '');
    range = branch.exitCode === 0 ? ['HEAD', '--not', `--exclude=${name}`, '--branches'] : ['HEAD'];
  }
  const commits = await tandemCommits(path, range);
  return commits.find((c) => c.taskId === step.taskId && c.stepId === step.stepId && c.attempt === String(step.attempt))?.sha;
}

interface TrailerCommit {
  readonly sha: string;
  readonly taskId: string;
  readonly stepId: string;
  readonly attempt: string;
  readonly subject: string;
}

async function tandemCommits(path: string, range: readonly string[]): Promise<TrailerCommit[]> {
  const trailer = (key: string): string => `%(trailers:key=${key},valueonly,separator=%x2C)`;
  const format = ['%H', trailer(TandemTrailer.task), trailer(TandemTrailer.step), trailer(TandemTrailer.attempt), '%s'].join('%x1f') + '%x1e';
  const { stdout } = await git(path, ['log', `--format=${format}`, ...range]);
  return stdout
    .split('\x1e')
    .map((record) => record.replace(/^\n/, ''))
    .filter((record) => record !== '')
    .map((record) => {
      const [sha = '', taskId = '', stepId = '', attempt = '', subject = ''] = record.split('\x1f');
      return { sha, taskId: taskId.trim(), stepId: stepId.trim(), attempt: attempt.trim(), subject };
    });
}

function stepTrailers(input: CommitStepInput): [string, string][] {
  for (const [field, value] of [
    ['taskId', input.taskId],
    ['stepId', input.stepId],
  ] as const) {
    // Both are matched back from the trailers, so they must survive as one non-empty line.
    if (!/^[^\s,]+$/.test(value)) throw new WorkspaceError(`${field} must be a non-empty single word for a commit trailer, got ${JSON.stringify(value)}`);
  }
  if (!Number.isInteger(input.attempt) || input.attempt < 1) throw new WorkspaceError(`attempt must be a positive integer, got ${input.attempt}`);
  const own: [string, string][] = [
    [TandemTrailer.task, input.taskId],
    [TandemTrailer.step, input.stepId],
    [TandemTrailer.attempt, String(input.attempt)],
  ];
  const extra = Object.entries(input.trailers ?? {}).map(([key, value]): [string, string] => {
    if (!TRAILER_KEY.test(key)) throw new WorkspaceError(`invalid trailer key ${JSON.stringify(key)}: use letters, digits and "-"`);
    if (RESERVED_KEYS.has(key.toLowerCase())) throw new WorkspaceError(`trailer ${key} is set by tandem itself`);
    return [key, value];
  });
  // A trailer is one line; a newline in a value (a multi-line gate summary) would end the block.
  return [...own, ...extra].map(([key, value]): [string, string] => [key, value.replace(/\s*[\r\n]+\s*/g, ' ').trim()]).filter(([, value]) => value !== '');
}

const CHANGE_LOCK = 'tandem-change.lock';

/** Runs `fn` holding the worktree's own change lock (in its git dir, not shared with other worktrees). */
export async function withWorktreeChangeLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const gitDir = (await git(path, ['rev-parse', '--absolute-git-dir'])).stdout.trim();
  return withLockFile(join(gitDir, CHANGE_LOCK), async () => {
    // Every tandem commit or reset of this worktree runs under this lock: a git lock file found now
    // was left by one that was killed, and would fail every commit from here on.
    const branch = (await git(path, ['symbolic-ref', '--quiet', 'HEAD'], { allowFailure: true })).stdout.trim();
    await removeStaleGitLocks(path, ['index.lock', 'HEAD.lock', ...(branch === '' ? [] : [`${branch}.lock`])]);
    return fn();
  });
}
