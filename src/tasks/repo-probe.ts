import { stat } from 'node:fs/promises';
import { errorMessage } from '../platform/errors.js';
import { git } from '../workspace/git.js';

/** What intake needs to know about one repository before any task is started in it. */
export interface RepoFacts {
  readonly ok: true;
  /** Absolute work-tree root as git reports it. */
  readonly toplevel: string;
  /** Undefined when HEAD is detached. */
  readonly currentBranch?: string;
  readonly branches: readonly string[];
  /** Changed or untracked paths (relative to the root), without the ignored prefixes. */
  readonly changes: readonly string[];
}

export interface RepoProblem {
  readonly ok: false;
  readonly message: string;
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}

/** `git status --porcelain -z`: `XY path\0`, and a rename or copy adds its source path as the next entry. */
function parsePorcelain(output: string): string[] {
  const entries = output.split('\0');
  const paths: string[] = [];
  for (let index = 0; index < entries.length; index += 1) {
    const entry = entries[index] ?? '';
    if (entry.length < 4) continue;
    paths.push(entry.slice(3));
    if (entry[0] === 'R' || entry[0] === 'C') index += 1;
  }
  return paths;
}

/** `label` names the path and where it came from, e.g. `--repo /x` or `the current folder /x`. */
export async function probeRepo(repoPath: string, label: string, ignore: readonly string[]): Promise<RepoFacts | RepoProblem> {
  try {
    const stats = await stat(repoPath);
    if (!stats.isDirectory()) return { ok: false, message: `${label} is not a folder` };
  } catch (error) {
    const missing = error instanceof Error && 'code' in error && error.code === 'ENOENT';
    return { ok: false, message: missing ? `${label} does not exist` : `cannot read ${label}: ${errorMessage(error)}` };
  }
  const top = await git(repoPath, ['rev-parse', '--show-toplevel'], { allowFailure: true });
  if (top.exitCode !== 0) return { ok: false, message: `${label} is not a git repository (git: ${firstLine(top.stderr)})` };
  const toplevel = top.stdout.trim();

  const refs = await git(toplevel, ['for-each-ref', '--format=%(refname:short)', 'refs/heads']);
  const branches = refs.stdout.split('\n').filter((name) => name !== '');
  if (branches.length === 0) return { ok: false, message: `${label} has no commits yet; commit something first` };

  const head = await git(toplevel, ['symbolic-ref', '-q', '--short', 'HEAD'], { allowFailure: true });
  const currentBranch = head.exitCode === 0 ? head.stdout.trim() : undefined;

  const status = await git(toplevel, ['status', '--porcelain=v1', '-z']);
  const changes = parsePorcelain(status.stdout).filter((file) => !ignore.some((prefix) => file.startsWith(prefix)));
  return { ok: true, toplevel, ...(currentBranch === undefined ? {} : { currentBranch }), branches, changes };
}

/** The commit a local branch points at, or undefined when there is no such branch. */
export async function branchCommit(toplevel: string, branch: string): Promise<string | undefined> {
  const result = await git(toplevel, ['rev-parse', '--verify', '-q', `refs/heads/${branch}^{commit}`], { allowFailure: true });
  return result.exitCode === 0 ? result.stdout.trim() : undefined;
}
