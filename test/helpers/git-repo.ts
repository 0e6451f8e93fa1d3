import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface GitRepoOptions {
  /** Name of the initial branch. Default `main`. */
  readonly branch?: string;
  /** Subject of the initial commit. Default `initial`. */
  readonly message?: string;
}

export interface GitRepo {
  /** Real path (symlinks resolved) of the repository's working tree. */
  readonly dir: string;
  /** Sha of the initial commit. */
  readonly head: string;
  /** Runs git in the repository and returns its trimmed stdout; throws on a non-zero exit. */
  git(...args: string[]): Promise<string>;
  cleanup(): Promise<void>;
}

/**
 * A real repository in a temp dir with `files` (paths relative to the root, `/`-separated) committed
 * on `main` by a local identity, so it works on machines without a global git config.
 */
export async function createGitRepo(files: Readonly<Record<string, string>>, options: GitRepoOptions = {}): Promise<GitRepo> {
  // realpath: on macOS the temp dir is behind a symlink, and git reports resolved paths.
  const dir = await realpath(await mkdtemp(join(tmpdir(), 'tandem-repo-')));
  const git = async (...args: string[]): Promise<string> => {
    const { stdout } = await execFileAsync('git', args, {
      cwd: dir,
      timeout: 30_000,
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' },
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout.trim();
  };
  try {
    await git('init', '--quiet', '-b', options.branch ?? 'main');
    await git('config', 'user.name', 'Test User');
    await git('config', 'user.email', 'test@example.com');
    await git('config', 'commit.gpgsign', 'false');
    for (const [path, content] of Object.entries(files)) {
      const file = join(dir, ...path.split('/'));
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, content);
    }
    await git('add', '-A');
    await git('commit', '--quiet', '--allow-empty', '-m', options.message ?? 'initial');
    const head = await git('rev-parse', 'HEAD');
    return { dir, head, git, cleanup: () => rm(dir, { recursive: true, force: true }) };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
