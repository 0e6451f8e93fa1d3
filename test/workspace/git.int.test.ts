import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WorkspaceError } from '../../src/platform/errors.js';
import { git } from '../../src/workspace/git.js';
import { createGitRepo, type GitRepo } from '../helpers/git-repo.js';

let repo: GitRepo;
beforeEach(async () => {
  repo = await createGitRepo({ 'a.txt': 'a\n' });
});
afterEach(async () => {
  await repo.cleanup();
});

describe('git', () => {
  it('waits out a lock file held by another git process, then succeeds', async () => {
    await writeFile(join(repo.dir, 'b.txt'), 'b\n');
    const lock = join(repo.dir, '.git', 'index.lock');
    await writeFile(lock, '');
    const released = new Promise((resolve) => setTimeout(resolve, 150)).then(() => rm(lock));
    const result = await git(repo.dir, ['add', 'b.txt']);
    await released;
    expect(result.exitCode).toBe(0);
    expect(await repo.git('diff', '--cached', '--name-only')).toBe('b.txt');
  });

  it('gives up on a lock that is never released, with an error saying so', async () => {
    await writeFile(join(repo.dir, 'b.txt'), 'b\n');
    await writeFile(join(repo.dir, '.git', 'index.lock'), '');
    const error = await git(repo.dir, ['add', 'b.txt']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkspaceError);
    expect((error as WorkspaceError).message).toMatch(/^git add b\.txt failed in .+ \(exit 128\): fatal: Unable to create '.+index\.lock': File exists/);
    expect((error as WorkspaceError).retryable).toBe(true);
  }, 30_000);
});
