import type { Command } from 'commander';
import { InputError } from '../platform/errors.js';
import { configFrom, observeOptions, withRunOptions, type CommonFlags, type ObserveFlags } from './common-options.js';
import { executeTasks } from './execute.js';
import type { CliIO, ExitCode, RegisterCommand } from './io.js';
import { createRunners } from '../app/embedded.js';
import { withLastRun } from './last-run.js';
import { printInputError } from './print-error.js';
import { availableRunners, roleRunnerProblems } from './runner-check.js';

interface RunFlags extends CommonFlags, ObserveFlags {
  readonly repo?: string;
  readonly resume?: boolean;
  readonly json?: boolean;
  readonly task?: string[];
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Builds config and runners, turning bad input into exit code 2 before anything starts. */
export async function prepare(io: CliIO, given: CommonFlags, options: { continuing?: boolean } = {}) {
  try {
    // `resume` and `review` continue with the runner of the last `run` unless told otherwise.
    const flags = options.continuing ? await withLastRun(configFrom(io, given).stateDir, given) : given;
    const loaded = configFrom(io, flags);
    const runners = await createRunners(loaded);
    // A role no runner here can take would wait for a person on its first call: refuse now instead.
    const problems = roleRunnerProblems(loaded, await availableRunners(loaded), io.env);
    if (problems.length > 0) throw new InputError(problems);
    return { loaded, runners };
  } catch (error) {
    if (error instanceof InputError) return printInputError(io, error);
    throw error;
  }
}

export function runnerBanner(loaded: Awaited<ReturnType<typeof configFrom>>): string {
  const { config } = loaded;
  const scripted = config.runner_override === 'scripted' || Object.values(config.roles).every((m) => m.runner === 'scripted');
  const note = scripted ? ` — SCRIPTED: model answers are replayed from ${config.runners.scripted.script ?? 'a script'}, no model is called` : '';
  // Each task's models come from the routing matrix (risk × area), so one role=model list would be wrong
  // for most tasks; pinned roles are the exception and are named.
  const pins = Object.keys(config.role_pins)
    .map((role) => `${role}=${config.roles[role as keyof typeof config.roles].model}`)
    .join(' ');
  const models = pins === '' ? 'models routed per task by risk and area (tandem route --explain)' : `pinned ${pins}, others routed per task`;
  const runner = config.runner_override === undefined ? '' : ` · runner ${config.runner_override} for every role`;
  return `tandem · concurrency ${config.concurrency} · ${models}${runner}${note}\n`;
}

export const registerRunCommand: RegisterCommand = (program: Command, io, done) => {
  withRunOptions(
    program
      .command('run')
      .description('plan, implement, review and gate tasks from tasks.yaml files, *.task.md files or folders of them')
      .argument('[paths...]', 'task files or folders')
      .option('--repo <path>', 'repository to work on (overrides each task\'s "repo")')
      .option('--base <branch>', "base branch (default: the repository's current branch)")
      .option('--task <id>', 'run only this task of the files (repeatable)', collect)
      .option('--resume', 'also continue every unfinished task in the state dir')
      .option('--json', 'one JSON event per line (docs/cli-json.md), the last one the outcomes'),
  ).action(async (paths: string[], flags: RunFlags) => {
    if (paths.length === 0 && !flags.resume) {
      io.stderr.write('tandem run: give task files or folders, or --resume\n');
      done(2);
      return;
    }
    // `run --resume` continues unfinished tasks too, so it keeps their runner and script like `resume`.
    const prepared = await prepare(io, flags, { continuing: flags.resume === true });
    if (typeof prepared === 'number') return done(prepared);
    const code: ExitCode = await executeTasks({
      io,
      ...prepared,
      paths,
      taskIds: flags.task ?? [],
      repo: flags.repo,
      base: flags.base,
      resume: flags.resume === true,
      remember: true,
      ...observeOptions(flags),
      json: flags.json === true,
      banner: runnerBanner(prepared.loaded),
    });
    done(code);
  });
};

export const registerResumeCommand: RegisterCommand = (program, io, done) => {
  withRunOptions(program.command('resume').description('continue every unfinished task where it stood (after a crash, kill or Ctrl-C)'))
    .option('--json', 'one JSON event per line (docs/cli-json.md), the last one the outcomes')
    .action(async (flags: RunFlags) => {
      const prepared = await prepare(io, flags, { continuing: true });
      if (typeof prepared === 'number') return done(prepared);
      done(await executeTasks({ io, ...prepared, resume: true, json: flags.json === true, banner: runnerBanner(prepared.loaded), ...observeOptions(flags) }));
    });
};
