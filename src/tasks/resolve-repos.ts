import path from 'node:path';
import { InputError } from '../platform/errors.js';
import type { InputIssue } from '../platform/errors.js';
import type { LoadedTask } from './load-tasks.js';
import { checkRepoPath } from './repo-paths.js';
import { branchCommit, probeRepo } from './repo-probe.js';
import type { RepoFacts, RepoProblem } from './repo-probe.js';
import type { TaskSpec } from '../model/task-spec.js';

export interface ResolvedTask {
  /** The task, with `context_files` and `target_files` made relative to the repository root. */
  readonly spec: TaskSpec;
  /** Absolute work-tree root of the repository. */
  readonly repo: string;
  /** Base branch name. */
  readonly base: string;
  readonly baseCommit: string;
}

export interface ResolveReposOptions {
  /** `--repo`: overrides every task's `repo:`; resolved against `cwd`. */
  readonly repo?: string;
  readonly cwd: string;
  /** `--base`: used when a task names no `base:`. */
  readonly base?: string;
  /** Path prefixes (e.g. `.tandem/`) whose changes do not make the base dirty. */
  readonly ignore?: readonly string[];
}

type Issue = Omit<InputIssue, 'file' | 'line'>;

/** The repository path to use and a label saying where it came from, for messages. */
function repoPathOf(task: LoadedTask, options: ResolveReposOptions): { path: string; label: string } {
  if (options.repo !== undefined) {
    const repo = path.resolve(options.cwd, options.repo);
    return { path: repo, label: `--repo ${repo}` };
  }
  if (task.spec.repo !== undefined) {
    const repo = path.resolve(task.dir, task.spec.repo);
    return { path: repo, label: `repository ${repo}` };
  }
  const repo = path.resolve(options.cwd);
  return { path: repo, label: `the current folder ${repo}` };
}

async function checkFiles(spec: TaskSpec, toplevel: string, issues: Issue[]): Promise<Pick<TaskSpec, 'context_files' | 'target_files'>> {
  const lists = { context_files: [...spec.context_files], target_files: [...spec.target_files] };
  for (const field of ['context_files', 'target_files'] as const) {
    for (const [index, entry] of spec[field].entries()) {
      const check = await checkRepoPath(toplevel, entry);
      if (!check.inside) {
        issues.push({ field: `${field}[${index}]`, message: `\`${entry}\` resolves to ${check.resolved}, outside the repository ${toplevel}` });
        continue;
      }
      // Target files may be created by the task; context files are read, so they must be there.
      if (field === 'context_files' && !check.exists) {
        issues.push({ field: `${field}[${index}]`, message: `\`${entry}\` does not exist in the repository ${toplevel}` });
      }
      lists[field][index] = check.relative;
    }
  }
  return lists;
}

async function resolveOne(task: LoadedTask, facts: RepoFacts, options: ResolveReposOptions, issues: Issue[]): Promise<ResolvedTask | undefined> {
  const files = await checkFiles(task.spec, facts.toplevel, issues);
  const base = task.spec.base ?? options.base ?? facts.currentBranch;
  if (base === undefined) {
    issues.push({ field: 'base', message: `HEAD is detached in ${facts.toplevel}; name a base branch with \`base:\` in the task or --base` });
    return undefined;
  }
  const baseCommit = await branchCommit(facts.toplevel, base);
  if (baseCommit === undefined) {
    const known = facts.branches.slice(0, 10).join(', ');
    issues.push({ field: 'base', message: `base branch \`${base}\` does not exist in ${facts.toplevel} (branches: ${known})` });
    return undefined;
  }
  if (facts.currentBranch === base && facts.changes.length > 0) {
    const shown = facts.changes.slice(0, 5).join(', ') + (facts.changes.length > 5 ? ', …' : '');
    issues.push({
      field: 'base',
      message: `base branch \`${base}\` is checked out in ${facts.toplevel} with uncommitted changes (${shown}); commit or stash them first`,
    });
    return undefined;
  }
  return { spec: { ...task.spec, ...files }, repo: facts.toplevel, base, baseCommit };
}

/**
 * Finds each task's repository and base branch and checks everything a run would trip over later
 * (missing repository, no commits, unknown or dirty base, files outside the repository), all at once.
 */
export async function resolveTaskRepos(tasks: readonly LoadedTask[], options: ResolveReposOptions): Promise<ResolvedTask[]> {
  const probes = new Map<string, Promise<RepoFacts | RepoProblem>>();
  const resolved: ResolvedTask[] = [];
  const issues: InputIssue[] = [];
  for (const task of tasks) {
    const repo = repoPathOf(task, options);
    const key = `${repo.label}\0${repo.path}`;
    let probe = probes.get(key);
    if (probe === undefined) {
      probe = probeRepo(repo.path, repo.label, options.ignore ?? []);
      probes.set(key, probe);
    }
    const facts = await probe;
    const taskIssues: Issue[] = [];
    if (facts.ok) {
      const result = await resolveOne(task, facts, options, taskIssues);
      if (result) resolved.push(result);
    } else {
      taskIssues.push({ field: 'repo', message: facts.message });
    }
    const lines = task.spec.source?.fields ?? {};
    issues.push(...taskIssues.map((issue) => ({ file: task.file, line: lines[issue.field ?? ''] ?? task.spec.source?.line, ...issue })));
  }
  if (issues.length > 0) throw new InputError(issues);
  return resolved;
}
