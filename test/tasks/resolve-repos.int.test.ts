import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LoadedTask } from '../../src/tasks/load-tasks.js';
import { loadTaskFiles } from '../../src/tasks/load-tasks.js';
import { resolveTaskRepos } from '../../src/tasks/resolve-repos.js';
import { TaskSpecSchema } from '../../src/model/task-spec.js';
import type { TaskSpecInput } from '../../src/model/task-spec.js';
import { asyncIssuesOf } from './catch-issues.js';

let root: string;

beforeEach(() => {
  root = realpathSync(mkdtempSync(path.join(tmpdir(), 'tandem-resolve-')));
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', ...args], {
    cwd,
    encoding: 'utf8',
    timeout: 30_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

function write(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
}

/** A repository on `main` with one commit holding README.md and docs/plan.md. */
function makeRepo(name: string, options: { commit?: boolean } = {}): string {
  const repo = path.join(root, name);
  mkdirSync(repo, { recursive: true });
  git(repo, 'init', '-q', '-b', 'main');
  if (options.commit === false) return repo;
  write(path.join(repo, 'README.md'), '# demo\n');
  write(path.join(repo, 'docs', 'plan.md'), 'plan\n');
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'initial');
  return repo;
}

const TASK_FILE = () => path.join(root, 'tasks', 'tasks.yaml');

function task(fields: Partial<TaskSpecInput> = {}, line = 3): LoadedTask {
  const file = TASK_FILE();
  const spec = TaskSpecSchema.parse({ id: 't1', goal: 'do it', ...fields, source: { file, line } });
  return { spec, file, dir: path.dirname(file) };
}

describe('resolveTaskRepos', () => {
  it('resolves --repo, the current branch and its commit, and makes file entries root-relative', async () => {
    const repo = makeRepo('repo');
    const [resolved] = await resolveTaskRepos(
      [task({ context_files: ['./README.md', path.join(repo, 'docs', 'plan.md'), 'docs/'], target_files: ['src/new.ts'] })],
      { repo: 'repo', cwd: root },
    );
    expect(resolved).toEqual({
      spec: expect.objectContaining({ id: 't1', context_files: ['README.md', 'docs/plan.md', 'docs/'], target_files: ['src/new.ts'] }) as unknown,
      repo,
      base: 'main',
      baseCommit: git(repo, 'rev-parse', 'HEAD'),
    });
  });

  it('resolves a task `repo:` against the task file folder, and a subfolder to its repository root', async () => {
    const repo = makeRepo('work/repo');
    const [resolved] = await resolveTaskRepos([task({ repo: '../work/repo/docs' })], { cwd: '/' });
    expect([resolved?.repo, resolved?.base]).toEqual([repo, 'main']);
  });

  it('uses the cwd when neither --repo nor `repo:` is given', async () => {
    const repo = makeRepo('repo');
    const [resolved] = await resolveTaskRepos([task()], { cwd: repo });
    expect(resolved?.repo).toBe(repo);
  });

  it('uses the task base, then --base, before the current branch', async () => {
    const repo = makeRepo('repo');
    git(repo, 'branch', 'develop');
    git(repo, 'branch', 'release');
    const resolved = await resolveTaskRepos([task({ base: 'develop' }), task({ id: 't2' })], { cwd: repo, base: 'release' });
    expect(resolved.map((entry) => entry.base)).toEqual(['develop', 'release']);
  });

  it('reports a repository path that does not exist', async () => {
    const missing = path.join(root, 'nowhere');
    expect(await asyncIssuesOf(() => resolveTaskRepos([task({ repo: missing })], { cwd: root }))).toEqual([
      { file: TASK_FILE(), line: 3, field: 'repo', message: `repository ${missing} does not exist` },
    ]);
  });

  it('reports a folder that is not a git repository, naming --repo as the origin', async () => {
    const plain = path.join(root, 'plain');
    mkdirSync(plain);
    const issues = await asyncIssuesOf(() => resolveTaskRepos([task()], { cwd: root, repo: 'plain' }));
    expect(issues).toEqual([
      {
        file: TASK_FILE(),
        line: 3,
        field: 'repo',
        message: `--repo ${plain} is not a git repository (git: fatal: not a git repository (or any of the parent directories): .git)`,
      },
    ]);
  });

  it('reports a repository without commits', async () => {
    const repo = makeRepo('empty', { commit: false });
    expect(await asyncIssuesOf(() => resolveTaskRepos([task()], { cwd: repo }))).toEqual([
      { file: TASK_FILE(), line: 3, field: 'repo', message: `the current folder ${repo} has no commits yet; commit something first` },
    ]);
  });

  it('reports a base branch that does not exist, listing the branches', async () => {
    const repo = makeRepo('repo');
    expect(await asyncIssuesOf(() => resolveTaskRepos([task({ base: 'develop' })], { cwd: repo }))).toEqual([
      { file: TASK_FILE(), line: 3, field: 'base', message: `base branch \`develop\` does not exist in ${repo} (branches: main)` },
    ]);
  });

  it('reports a detached HEAD when no base is given, and accepts it with --base', async () => {
    const repo = makeRepo('repo');
    git(repo, 'checkout', '-q', '--detach');
    expect(await asyncIssuesOf(() => resolveTaskRepos([task()], { cwd: repo }))).toEqual([
      {
        file: TASK_FILE(),
        line: 3,
        field: 'base',
        message: `HEAD is detached in ${repo}; name a base branch with \`base:\` in the task or --base`,
      },
    ]);
    const [resolved] = await resolveTaskRepos([task()], { cwd: repo, base: 'main' });
    expect(resolved?.base).toBe('main');
  });

  it('reports a dirty base branch that is checked out', async () => {
    const repo = makeRepo('repo');
    write(path.join(repo, 'README.md'), 'changed\n');
    write(path.join(repo, 'new file.txt'), 'untracked\n');
    git(repo, 'mv', 'docs/plan.md', 'docs/renamed.md');
    expect(await asyncIssuesOf(() => resolveTaskRepos([task()], { cwd: repo }))).toEqual([
      {
        file: TASK_FILE(),
        line: 3,
        field: 'base',
        message: `base branch \`main\` is checked out in ${repo} with uncommitted changes (README.md, docs/renamed.md, new file.txt); commit or stash them first`,
      },
    ]);
  });

  it('ignores changes under the ignored prefixes and on a base that is not checked out', async () => {
    const repo = makeRepo('repo');
    write(path.join(repo, '.tandem', 'state.json'), '{}');
    const [clean] = await resolveTaskRepos([task()], { cwd: repo, ignore: ['.tandem/'] });
    expect(clean?.base).toBe('main');

    git(repo, 'branch', 'develop');
    write(path.join(repo, 'README.md'), 'changed\n');
    const [other] = await resolveTaskRepos([task({ base: 'develop' })], { cwd: repo, ignore: ['.tandem/'] });
    expect(other?.base).toBe('develop');
  });

  it('reports file entries outside the repository: `..`, absolute, and through a symlink', async () => {
    const repo = makeRepo('repo');
    write(path.join(root, 'secret.txt'), 'secret\n');
    symlinkSync(root, path.join(repo, 'escape'));
    git(repo, 'add', 'escape');
    git(repo, 'commit', '-q', '-m', 'link');
    const spec = { context_files: ['../secret.txt', path.join(root, 'secret.txt'), 'escape/secret.txt'], target_files: ['escape/new.ts'] };
    const outside = path.join(root, 'secret.txt');
    expect(await asyncIssuesOf(() => resolveTaskRepos([task(spec)], { cwd: repo }))).toEqual([
      { file: TASK_FILE(), line: 3, field: 'context_files[0]', message: `\`../secret.txt\` resolves to ${outside}, outside the repository ${repo}` },
      { file: TASK_FILE(), line: 3, field: 'context_files[1]', message: `\`${outside}\` resolves to ${outside}, outside the repository ${repo}` },
      { file: TASK_FILE(), line: 3, field: 'context_files[2]', message: `\`escape/secret.txt\` resolves to ${outside}, outside the repository ${repo}` },
      {
        file: TASK_FILE(),
        line: 3,
        field: 'target_files[0]',
        message: `\`escape/new.ts\` resolves to ${path.join(root, 'new.ts')}, outside the repository ${repo}`,
      },
    ]);
  });

  it('reports a context file that does not exist, but not a target file to be created', async () => {
    const repo = makeRepo('repo');
    expect(await asyncIssuesOf(() => resolveTaskRepos([task({ context_files: ['docs/missing.md'], target_files: ['src/new.ts'] })], { cwd: repo }))).toEqual([
      { file: TASK_FILE(), line: 3, field: 'context_files[0]', message: `\`docs/missing.md\` does not exist in the repository ${repo}` },
    ]);
  });

  it('collects the problems of every task into one error', async () => {
    const repo = makeRepo('repo');
    const issues = await asyncIssuesOf(() =>
      resolveTaskRepos([task({ base: 'nope' }, 3), task({ id: 't2', context_files: ['gone.md'] }, 9), task({ id: 't3' }, 14)], { cwd: repo }),
    );
    expect(issues.map((issue) => [issue.line, issue.field])).toEqual([
      [3, 'base'],
      [9, 'context_files[0]'],
    ]);
  });

  it('points each problem found in the repository at the line of its field, in tasks.yaml and *.task.md', async () => {
    const repo = makeRepo('repo');
    write(
      TASK_FILE(),
      [
        'tasks:',
        '  - id: t1',
        '    goal: do it',
        `    repo: ${repo}`,
        '    base: nope',
        '  - id: t2',
        '    goal: do it',
        `    repo: ${repo}`,
        '    context_files:',
        '      - README.md',
        '      - gone.md',
        '',
      ].join('\n'),
    );
    const md = path.join(root, 'tasks', 'x.task.md');
    write(
      md,
      ['---', 'id: t3', `repo: ${repo}`, 'context_files:', '  - docs/', '  - ../../outside.md', '---', '# Task: x', '', '**Prompt:**', 'do it', ''].join('\n'),
    );
    const loaded = await loadTaskFiles([TASK_FILE(), md]);
    const issues = await asyncIssuesOf(() => resolveTaskRepos(loaded, { cwd: root }));
    expect(issues.map((issue) => [path.basename(issue.file), issue.line, issue.field])).toEqual([
      ['tasks.yaml', 5, 'base'],
      ['tasks.yaml', 11, 'context_files[1]'],
      ['x.task.md', 6, 'context_files[1]'],
    ]);
  });
});
