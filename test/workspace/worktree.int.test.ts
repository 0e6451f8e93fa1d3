import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WorkspaceError } from '../../src/platform/errors.js';
import {
  commitStep,
  ensureWorktree,
  excludeFromRepo,
  removeWorktree,
  resetWorktree,
  stepCommits,
  worktreeDiff,
  type Worktree,
} from '../../src/workspace/worktree.js';
import { createGitRepo, type GitRepo } from '../helpers/git-repo.js';

let repo: GitRepo;
let worktreesDir: string;

beforeEach(async () => {
  repo = await createGitRepo({
    'README.md': '# demo\n',
    'src/a.txt': 'one\ntwo\nthree\n',
    'src/old-name.txt': 'a file that will be renamed\nwith two lines\n',
    'src/gone.txt': 'deleted soon\n',
    '.gitignore': 'node_modules/\n',
  });
  worktreesDir = join(repo.dir, '.tandem', 'worktrees');
  await excludeFromRepo(repo.dir, '.tandem');
});
afterEach(async () => {
  await repo.cleanup();
});

const inTree = (wt: Worktree, ...args: string[]): Promise<string> => repo.git('-C', wt.path, ...args);

describe('ensureWorktree', () => {
  it('creates a worktree on tandem/<id> from the base without touching the base branch or the user tree', async () => {
    await writeFile(join(repo.dir, 'README.md'), '# demo\nuser edit in progress\n');
    await writeFile(join(repo.dir, 'scratch.txt'), 'user notes\n');
    const statusBefore = await repo.git('status', '--porcelain');
    expect(statusBefore).toBe('M README.md\n?? scratch.txt');

    const wt = await ensureWorktree({ repo: repo.dir, taskId: 'task-1', baseCommit: 'main', worktreesDir });

    expect(wt).toEqual({ path: join(worktreesDir, 'task-1'), branch: 'tandem/task-1', baseCommit: repo.head });
    expect(await inTree(wt, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('tandem/task-1');
    expect(await inTree(wt, 'rev-parse', 'HEAD')).toBe(repo.head);
    expect(await readFile(join(wt.path, 'README.md'), 'utf8')).toBe('# demo\n');
    expect(await inTree(wt, 'status', '--porcelain')).toBe('');

    await writeFile(join(wt.path, 'src', 'a.txt'), 'changed\n');
    await commitStep(wt.path, { taskId: 'task-1', stepId: 'S1', attempt: 1, message: 'Step S1', trailers: {}, baseCommit: wt.baseCommit });

    expect(await repo.git('status', '--porcelain')).toBe(statusBefore);
    expect(await repo.git('rev-parse', 'main')).toBe(repo.head);
    expect(await repo.git('rev-parse', '--abbrev-ref', 'HEAD')).toBe('main');
    expect(await readFile(join(repo.dir, 'src', 'a.txt'), 'utf8')).toBe('one\ntwo\nthree\n');
  });

  it('reuses an existing worktree as is, uncommitted edits included', async () => {
    const first = await ensureWorktree({ repo: repo.dir, taskId: 'task-1', baseCommit: repo.head, worktreesDir });
    await writeFile(join(first.path, 'wip.txt'), 'half done\n');
    const second = await ensureWorktree({ repo: repo.dir, taskId: 'task-1', baseCommit: repo.head, worktreesDir });
    expect(second).toEqual(first);
    expect(await readFile(join(second.path, 'wip.txt'), 'utf8')).toBe('half done\n');
  });

  it('re-adds the worktree for the existing branch when its directory was deleted', async () => {
    const first = await ensureWorktree({ repo: repo.dir, taskId: 'task-1', baseCommit: repo.head, worktreesDir });
    await writeFile(join(first.path, 'new.txt'), 'kept in a commit\n');
    const { sha } = await commitStep(first.path, { taskId: 'task-1', stepId: 'S1', attempt: 1, message: 'Step S1', trailers: {} });
    await rm(first.path, { recursive: true, force: true });

    const again = await ensureWorktree({ repo: repo.dir, taskId: 'task-1', baseCommit: repo.head, worktreesDir });
    expect(again).toEqual(first);
    expect(await inTree(again, 'rev-parse', 'HEAD')).toBe(sha);
    expect(await readFile(join(again.path, 'new.txt'), 'utf8')).toBe('kept in a commit\n');
  });

  it('refuses a leftover branch that does not contain the base commit', async () => {
    await ensureWorktree({ repo: repo.dir, taskId: 'task-1', baseCommit: repo.head, worktreesDir });
    await writeFile(join(repo.dir, 'later.txt'), 'x\n');
    await repo.git('add', 'later.txt');
    await repo.git('commit', '-m', 'later');
    const newBase = await repo.git('rev-parse', 'HEAD');
    await expect(ensureWorktree({ repo: repo.dir, taskId: 'task-1', baseCommit: newBase, worktreesDir })).rejects.toThrow(
      `branch tandem/task-1 in ${repo.dir} does not contain the task's base commit ${newBase}`,
    );
  });

  it('rejects a bad task id, an unknown base and a foreign non-empty directory with clear errors', async () => {
    await expect(ensureWorktree({ repo: repo.dir, taskId: '../escape', baseCommit: repo.head, worktreesDir })).rejects.toThrow(
      'invalid task id "../escape": must be 1-64 letters, digits, "-" or "_", starting with a letter or digit',
    );
    await expect(ensureWorktree({ repo: repo.dir, taskId: 'task-1', baseCommit: 'no-such-branch', worktreesDir })).rejects.toThrow(
      `base commit "no-such-branch" not found in ${repo.dir}`,
    );
    await mkdir(join(worktreesDir, 'task-2'), { recursive: true });
    await writeFile(join(worktreesDir, 'task-2', 'precious.txt'), 'not ours\n');
    const error: unknown = await ensureWorktree({ repo: repo.dir, taskId: 'task-2', baseCommit: repo.head, worktreesDir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkspaceError);
    expect((error as Error).message).toBe(
      `${join(worktreesDir, 'task-2')} exists, is not empty and is not the worktree of task task-2; move it away or remove it`,
    );
    expect(await readFile(join(worktreesDir, 'task-2', 'precious.txt'), 'utf8')).toBe('not ours\n');
  });
});

describe('resetWorktree', () => {
  it('discards tracked edits and untracked files but keeps ignored ones', async () => {
    const wt = await ensureWorktree({ repo: repo.dir, taskId: 'task-1', baseCommit: repo.head, worktreesDir });
    await writeFile(join(wt.path, 'src', 'a.txt'), 'garbage\n');
    await mkdir(join(wt.path, 'junk'));
    await writeFile(join(wt.path, 'junk', 'x.txt'), 'x\n');
    await mkdir(join(wt.path, 'node_modules', 'dep'), { recursive: true });
    await writeFile(join(wt.path, 'node_modules', 'dep', 'index.js'), 'module.exports = 1;\n');
    await inTree(wt, 'add', 'src/a.txt');

    await resetWorktree(wt.path);

    expect(await inTree(wt, 'status', '--porcelain', '--ignored')).toBe('!! node_modules/');
    expect(await readFile(join(wt.path, 'src', 'a.txt'), 'utf8')).toBe('one\ntwo\nthree\n');
    expect(await readFile(join(wt.path, 'node_modules', 'dep', 'index.js'), 'utf8')).toBe('module.exports = 1;\n');
  });
});

describe('worktreeDiff', () => {
  it('reports every uncommitted change, untracked files included, without touching the real index', async () => {
    const wt = await ensureWorktree({ repo: repo.dir, taskId: 'task-1', baseCommit: repo.head, worktreesDir });
    await writeFile(join(wt.path, 'src', 'a.txt'), 'one\n2\nthree\nfour\n');
    await repo.git('-C', wt.path, 'mv', 'src/old-name.txt', 'src/new-name.txt');
    await rm(join(wt.path, 'src', 'gone.txt'));
    await writeFile(join(wt.path, 'src', 'brand-new.txt'), 'alpha\nbeta\n');
    await writeFile(join(wt.path, 'logo.bin'), Buffer.from([0, 1, 2, 3, 0, 255]));
    await mkdir(join(wt.path, 'notes'));
    await writeFile(join(wt.path, 'notes', 'with space é.txt'), 'unicode path\n');
    await mkdir(join(wt.path, 'node_modules'));
    await writeFile(join(wt.path, 'node_modules', 'ignored.js'), 'x\n');
    const indexBefore = await inTree(wt, 'diff', '--cached', '--name-status');
    const statusBefore = await inTree(wt, 'status', '--porcelain');

    const diff = await worktreeDiff(wt.path);

    expect(diff.files).toEqual([
      { path: 'logo.bin', status: 'added', insertions: 0, deletions: 0 },
      { path: 'notes/with space é.txt', status: 'added', insertions: 1, deletions: 0 },
      { path: 'src/a.txt', status: 'modified', insertions: 2, deletions: 1 },
      { path: 'src/brand-new.txt', status: 'added', insertions: 2, deletions: 0 },
      { path: 'src/gone.txt', status: 'deleted', insertions: 0, deletions: 1 },
      { path: 'src/new-name.txt', status: 'renamed', oldPath: 'src/old-name.txt', insertions: 0, deletions: 0 },
    ]);
    expect(diff.insertions).toBe(5);
    expect(diff.deletions).toBe(2);
    expect(diff.patch).toContain('diff --git a/src/brand-new.txt b/src/brand-new.txt\nnew file mode 100644\n');
    expect(diff.patch).toContain('rename from src/old-name.txt\nrename to src/new-name.txt\n');
    expect(diff.patch).toContain('Binary files /dev/null and b/logo.bin differ\n');
    expect(diff.patch).toContain('diff --git a/notes/with space é.txt b/notes/with space é.txt\n');
    expect(diff.patch).not.toContain('node_modules');
    expect(diff.patch.endsWith('\n')).toBe(true);
    expect(diff.fingerprint).toBe(createHash('sha256').update(diff.patch).digest('hex'));

    expect(await inTree(wt, 'diff', '--cached', '--name-status')).toBe(indexBefore);
    expect(await inTree(wt, 'status', '--porcelain')).toBe(statusBefore);
    const gitDir = await inTree(wt, 'rev-parse', '--absolute-git-dir');
    expect((await readdir(gitDir)).filter((name) => name.startsWith('tandem-'))).toEqual([]);
  });

  it('gives the same fingerprint for the same edits and another for different ones', async () => {
    const wt = await ensureWorktree({ repo: repo.dir, taskId: 'task-1', baseCommit: repo.head, worktreesDir });
    await writeFile(join(wt.path, 'new.txt'), 'v1\n');
    const first = await worktreeDiff(wt.path);
    await resetWorktree(wt.path);
    await writeFile(join(wt.path, 'new.txt'), 'v1\n');
    const same = await worktreeDiff(wt.path);
    await writeFile(join(wt.path, 'new.txt'), 'v2\n');
    const other = await worktreeDiff(wt.path);
    expect(same.fingerprint).toBe(first.fingerprint);
    expect(other.fingerprint).not.toBe(first.fingerprint);
  });

  it('is empty for a clean worktree', async () => {
    const wt = await ensureWorktree({ repo: repo.dir, taskId: 'task-1', baseCommit: repo.head, worktreesDir });
    expect(await worktreeDiff(wt.path)).toEqual({
      patch: '',
      files: [],
      insertions: 0,
      deletions: 0,
      fingerprint: createHash('sha256').update('').digest('hex'),
    });
  });
});

describe('worktreeDiff against a base', () => {
  it('shows everything the branch changed since the base: committed steps and uncommitted edits', async () => {
    const wt = await ensureWorktree({ repo: repo.dir, taskId: 'task-1', baseCommit: repo.head, worktreesDir });
    await writeFile(join(wt.path, 'committed.txt'), 'step one\n');
    await commitStep(wt.path, { taskId: 'task-1', stepId: 'S1', attempt: 1, message: 'S1', baseCommit: wt.baseCommit });
    await writeFile(join(wt.path, 'src', 'a.txt'), 'one\n');
    const branch = await worktreeDiff(wt.path, wt.baseCommit);
    expect(branch.files.map((f) => [f.path, f.status])).toEqual([
      ['committed.txt', 'added'],
      ['src/a.txt', 'modified'],
    ]);
    // Against HEAD (the default) only the uncommitted edit shows.
    expect((await worktreeDiff(wt.path)).files.map((f) => f.path)).toEqual(['src/a.txt']);
  });
});

describe('commitStep and stepCommits', () => {
  it('commits a later attempt of an already committed step (a fix-up after validation) on top, once', async () => {
    const wt = await ensureWorktree({ repo: repo.dir, taskId: 'task-1', baseCommit: repo.head, worktreesDir });
    const step = { taskId: 'task-1', stepId: 'S1', message: 'S1', baseCommit: wt.baseCommit };
    await writeFile(join(wt.path, 'greeting.txt'), 'hello\n');
    const first = await commitStep(wt.path, { ...step, attempt: 1 });
    await writeFile(join(wt.path, 'greeting.txt'), 'hello!\n');
    const fix = await commitStep(wt.path, { ...step, attempt: 2 });
    const again = await commitStep(wt.path, { ...step, attempt: 2 });
    expect(first.created).toBe(true);
    expect(fix).toMatchObject({ created: true });
    expect(fix.sha).not.toBe(first.sha);
    expect(again).toEqual({ sha: fix.sha, created: false });
    expect((await stepCommits(wt.path, wt.baseCommit)).map((c) => [c.stepId, c.sha])).toEqual([
      ['S1', first.sha],
      ['S1', fix.sha],
    ]);
  });

  it('commits everything with trailers under the tandem identity, once', async () => {
    const wt = await ensureWorktree({ repo: repo.dir, taskId: 'task-1', baseCommit: repo.head, worktreesDir });
    await writeFile(join(wt.path, 'src', 'brand-new.txt'), 'alpha\n');
    await writeFile(join(wt.path, 'src', 'a.txt'), 'changed\n');
    const input = {
      taskId: 'task-1',
      stepId: 'S1',
      attempt: 2,
      message: 'Add brand-new\n\nBody line.\n# not a comment: kept',
      trailers: { 'Tandem-Implementer': 'openai/gpt-5-codex', 'Tandem-Reviewer': 'anthropic/claude-sonnet-4-5', 'Tandem-Gate': '1/1 checks\npassed' },
      baseCommit: wt.baseCommit,
    };

    const first = await commitStep(wt.path, input);
    const again = await commitStep(wt.path, input);

    expect(first.created).toBe(true);
    expect(again).toEqual({ sha: first.sha, created: false });
    expect(await inTree(wt, 'rev-list', '--count', `${repo.head}..HEAD`)).toBe('1');
    expect(await inTree(wt, 'log', '-1', '--format=%B')).toBe(
      [
        'Add brand-new',
        '',
        'Body line.',
        '# not a comment: kept',
        '',
        'Tandem-Task: task-1',
        'Tandem-Step: S1',
        'Tandem-Attempt: 2',
        'Tandem-Implementer: openai/gpt-5-codex',
        'Tandem-Reviewer: anthropic/claude-sonnet-4-5',
        'Tandem-Gate: 1/1 checks passed',
      ].join('\n'),
    );
    expect(await inTree(wt, 'log', '-1', '--format=%an <%ae> / %cn <%ce>')).toBe('tandem <tandem@localhost> / tandem <tandem@localhost>');
    expect(await inTree(wt, 'status', '--porcelain')).toBe('');
    expect(await inTree(wt, 'show', '--name-status', '--format=', 'HEAD')).toBe('M\tsrc/a.txt\nA\tsrc/brand-new.txt');
  });

  it('makes no commit for a step without changes and lists the step commits since the base, oldest first', async () => {
    const wt = await ensureWorktree({ repo: repo.dir, taskId: 'task-1', baseCommit: repo.head, worktreesDir });
    const s1 = await commitStep(wt.path, { taskId: 'task-1', stepId: 'S1', attempt: 1, message: 'Analyse only', trailers: {} });
    await writeFile(join(wt.path, 'x.txt'), 'x\n');
    const s2 = await commitStep(wt.path, { taskId: 'task-1', stepId: 'S2', attempt: 1, message: 'Write x', trailers: {} });

    expect(s1).toEqual({ sha: undefined, created: false });
    expect(s2.created).toBe(true);
    expect(await inTree(wt, 'rev-parse', `${s2.sha ?? ''}^`)).toBe(repo.head);
    expect(await stepCommits(wt.path, wt.baseCommit)).toEqual([{ sha: s2.sha, stepId: 'S2', subject: 'Write x' }]);
  });

  it('does not mistake a merged earlier run of the same task id for this one', async () => {
    // An earlier run of task-1 was merged into main, with its trailers.
    await writeFile(join(repo.dir, 'merged.txt'), 'from the earlier run\n');
    await repo.git('add', 'merged.txt');
    await repo.git('commit', '-m', 'Earlier S1', '--trailer', 'Tandem-Task: task-1', '--trailer', 'Tandem-Step: S1');
    const base = await repo.git('rev-parse', 'HEAD');
    const wt = await ensureWorktree({ repo: repo.dir, taskId: 'task-1', baseCommit: base, worktreesDir });

    await writeFile(join(wt.path, 's1.txt'), 'new S1\n');
    const withoutBase = await commitStep(wt.path, { taskId: 'task-1', stepId: 'S1', attempt: 1, message: 'New S1', trailers: {} });
    expect(withoutBase.created).toBe(true);
    expect(withoutBase.sha).not.toBe(base);

    const wt2 = await ensureWorktree({ repo: repo.dir, taskId: 'task-2', baseCommit: base, worktreesDir });
    await writeFile(join(wt2.path, 's1.txt'), 'new S1\n');
    const withBase = await commitStep(wt2.path, { taskId: 'task-1', stepId: 'S1', attempt: 1, message: 'New S1', trailers: {}, baseCommit: base });
    expect(withBase.created).toBe(true);
  });

  it('lets hooks run and reports a refusing hook with its output', async () => {
    const hook = join(repo.dir, '.git', 'hooks', 'pre-commit');
    await writeFile(hook, '#!/bin/sh\necho "lint says no: src/a.txt:1 unused variable" >&2\nexit 1\n');
    await chmod(hook, 0o755);
    const wt = await ensureWorktree({ repo: repo.dir, taskId: 'task-1', baseCommit: repo.head, worktreesDir });
    await writeFile(join(wt.path, 'src', 'a.txt'), 'changed\n');

    const error: unknown = await commitStep(wt.path, { taskId: 'task-1', stepId: 'S1', attempt: 1, message: 'Step', trailers: {} }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(WorkspaceError);
    expect((error as Error).message).toBe(
      `commit of step S1 of task task-1 in ${wt.path} failed (exit 1); a pre-commit or commit-msg hook may have refused it:\nlint says no: src/a.txt:1 unused variable`,
    );
    expect(await inTree(wt, 'rev-parse', 'HEAD')).toBe(repo.head);
  });

  it('rejects trailer keys that would break or spoof the trailer block', async () => {
    const wt = await ensureWorktree({ repo: repo.dir, taskId: 'task-1', baseCommit: repo.head, worktreesDir });
    await expect(commitStep(wt.path, { taskId: 'task-1', stepId: 'S1', attempt: 1, message: 'm', trailers: { 'tandem-step': 'S9' } })).rejects.toThrow(
      'trailer tandem-step is set by tandem itself',
    );
    await expect(commitStep(wt.path, { taskId: 'task-1', stepId: 'S1', attempt: 1, message: 'm', trailers: { 'Bad Key': 'v' } })).rejects.toThrow(
      'invalid trailer key "Bad Key": use letters, digits and "-"',
    );
    expect(await inTree(wt, 'rev-parse', 'HEAD')).toBe(repo.head);
  });
});

describe('removeWorktree', () => {
  it('removes a dirty worktree and its branch, and is idempotent', async () => {
    const wt = await ensureWorktree({ repo: repo.dir, taskId: 'task-1', baseCommit: repo.head, worktreesDir });
    await writeFile(join(wt.path, 'dirty.txt'), 'uncommitted\n');
    await commitStep(wt.path, { taskId: 'task-1', stepId: 'S1', attempt: 1, message: 'S1', trailers: {} });
    await writeFile(join(wt.path, 'more.txt'), 'uncommitted\n');

    await removeWorktree({ repo: repo.dir, path: wt.path, branch: wt.branch });
    await removeWorktree({ repo: repo.dir, path: wt.path, branch: wt.branch });

    await expect(stat(wt.path)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await repo.git('for-each-ref', '--format=%(refname:short)', 'refs/heads/tandem/')).toBe('');
    expect(await repo.git('worktree', 'list', '--porcelain')).toBe(`worktree ${repo.dir}\nHEAD ${repo.head}\nbranch refs/heads/main`);
    expect(await repo.git('status', '--porcelain')).toBe('');
  });

  it('keeps the branch when none is given, so the user can still merge it', async () => {
    const wt = await ensureWorktree({ repo: repo.dir, taskId: 'task-1', baseCommit: repo.head, worktreesDir });
    await writeFile(join(wt.path, 's1.txt'), 'S1\n');
    const { sha } = await commitStep(wt.path, { taskId: 'task-1', stepId: 'S1', attempt: 1, message: 'S1', trailers: {} });
    await removeWorktree({ repo: repo.dir, path: wt.path });
    await expect(stat(wt.path)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await repo.git('rev-parse', 'refs/heads/tandem/task-1')).toBe(sha);
  });

  it('refuses to delete a branch that is not tandem/*', async () => {
    await expect(removeWorktree({ repo: repo.dir, path: join(worktreesDir, 'x'), branch: 'main' })).rejects.toThrow(
      'refusing to delete branch main: tandem only deletes its own tandem/* branches',
    );
    expect(await repo.git('rev-parse', 'main')).toBe(repo.head);
  });
});

describe('parallel tasks', () => {
  it('two worktrees for two tasks do not interfere', async () => {
    const [a, b] = await Promise.all([
      ensureWorktree({ repo: repo.dir, taskId: 'task-a', baseCommit: repo.head, worktreesDir }),
      ensureWorktree({ repo: repo.dir, taskId: 'task-b', baseCommit: repo.head, worktreesDir }),
    ]);
    await writeFile(join(a.path, 'a-only.txt'), 'a\n');
    await writeFile(join(b.path, 'src', 'a.txt'), 'b was here\n');

    const [diffA, diffB] = await Promise.all([worktreeDiff(a.path), worktreeDiff(b.path)]);
    expect(diffA.files.map((f) => f.path)).toEqual(['a-only.txt']);
    expect(diffB.files.map((f) => f.path)).toEqual(['src/a.txt']);

    const [commitA, commitB] = await Promise.all([
      commitStep(a.path, { taskId: 'task-a', stepId: 'S1', attempt: 1, message: 'A', trailers: {}, baseCommit: repo.head }),
      commitStep(b.path, { taskId: 'task-b', stepId: 'S1', attempt: 1, message: 'B', trailers: {}, baseCommit: repo.head }),
    ]);
    expect(await stepCommits(a.path, repo.head)).toEqual([{ sha: commitA.sha, stepId: 'S1', subject: 'A' }]);
    expect(await stepCommits(b.path, repo.head)).toEqual([{ sha: commitB.sha, stepId: 'S1', subject: 'B' }]);
    expect(await readFile(join(a.path, 'src', 'a.txt'), 'utf8')).toBe('one\ntwo\nthree\n');

    await removeWorktree({ repo: repo.dir, path: a.path, branch: a.branch });
    expect(await inTree(b, 'rev-parse', 'HEAD')).toBe(commitB.sha);
    expect(await repo.git('for-each-ref', '--format=%(refname:short)', 'refs/heads/tandem/')).toBe('tandem/task-b');
  });
});

describe('excludeFromRepo', () => {
  it('adds the folder to info/exclude of the common git dir once, also when called from a worktree', async () => {
    const wt = await ensureWorktree({ repo: repo.dir, taskId: 'task-1', baseCommit: repo.head, worktreesDir });
    await excludeFromRepo(repo.dir, '.tandem');
    await excludeFromRepo(wt.path, './.tandem/');
    await excludeFromRepo(repo.dir, 'var/state');
    const content = await readFile(join(repo.dir, '.git', 'info', 'exclude'), 'utf8');
    expect(content.split('\n').filter((line) => line === '/.tandem/')).toEqual(['/.tandem/']);
    expect(content.endsWith('/.tandem/\n/var/state/\n')).toBe(true);
    expect(await repo.git('status', '--porcelain')).toBe('');
  });

  it('rejects paths outside the repository', async () => {
    await expect(excludeFromRepo(repo.dir, '../elsewhere')).rejects.toThrow(
      `cannot exclude "../elsewhere" from ${repo.dir}: give a folder inside the repository, relative to its root`,
    );
  });
});
