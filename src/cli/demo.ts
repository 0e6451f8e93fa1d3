import { cp, mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../platform/errors.js';
import { git } from '../workspace/git.js';
import { observeOptions, positiveInt, withObserveOptions, type ObserveFlags } from './common-options.js';
import { executeTasks } from './execute.js';
import { ExitCode, type RegisterCommand } from './io.js';
import { printInputError } from './print-error.js';
import { prepare, runnerBanner } from './run.js';

/** examples/ ships with the package; this file is at src/cli or dist/cli, two levels below the root. */
export const examplesDir = fileURLToPath(new URL('../../examples/', import.meta.url));

const identity = ['-c', 'user.name=tandem demo', '-c', 'user.email=demo@tandem.localhost', '-c', 'commit.gpgsign=false'];

/** A fresh git repository holding a copy of the demo project, in a new temporary folder. */
export async function createDemoRepository(into?: string): Promise<{ root: string; repo: string }> {
  const root = into ?? (await mkdtemp(join(tmpdir(), 'tandem-demo-')));
  const repo = join(root, 'repo');
  await mkdir(repo, { recursive: true });
  await cp(join(examplesDir, 'demo-repo'), repo, { recursive: true });
  await git(repo, ['init', '-q', '-b', 'main']);
  await git(repo, ['add', '-A']);
  await git(repo, [...identity, 'commit', '-q', '-m', 'demo project']);
  return { root, repo };
}

export const registerDemoCommand: RegisterCommand = (program, io, done) => {
  withObserveOptions(program.command('demo'))
    .description('run the demo tasks on a fresh copy of examples/demo-repo with the SCRIPTED runner (no model is called)')
    .option('--dir <dir>', 'folder to create the demo in (default: a new temporary folder)')
    .option('--concurrency <n>', 'tasks run in parallel (default 2)', positiveInt)
    .option('--json', 'one JSON event per line (docs/cli-json.md), the last one the outcomes')
    .action(async (flags: { dir?: string; concurrency?: number; json?: boolean } & ObserveFlags) => {
      const { root, repo } = await createDemoRepository(flags.dir);
      // The demo ignores any tandem.config.yaml of the folder it is started in.
      const demoIo = { ...io, cwd: root };
      const prepared = await prepare(demoIo, {
        runner: 'scripted',
        script: join(examplesDir, 'demo', 'script.yaml'),
        stateDir: join(root, 'state'),
        ...(flags.concurrency === undefined ? {} : { concurrency: flags.concurrency }),
      });
      if (typeof prepared === 'number') return done(prepared);
      if (!flags.json) io.stdout.write(`demo repository: ${repo}\nstate dir:       ${prepared.loaded.stateDir}\n\n`);
      let code: ExitCode;
      try {
        code = await executeTasks({
          io: demoIo,
          ...prepared,
          paths: [join(examplesDir, 'demo', 'tasks.yaml')],
          repo,
          remember: true,
          json: flags.json === true,
          ...observeOptions(flags),
          banner: runnerBanner(prepared.loaded),
        });
      } catch (error) {
        if (error instanceof InputError) return done(printInputError(io, error));
        throw error;
      }
      if (!flags.json) {
        io.stdout.write(`\nSee the work: git -C ${repo} log --oneline --all --graph\n`);
        io.stdout.write(`Follow up:    tandem status --state-dir ${prepared.loaded.stateDir}\n`);
      }
      done(code === ExitCode.ok ? ExitCode.ok : code);
    });
};
