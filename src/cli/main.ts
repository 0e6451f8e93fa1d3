import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import { errorMessage, InputError } from '../platform/errors.js';
import { ExitCode, type CliIO, type RegisterCommand } from './io.js';
import { printInputError } from './print-error.js';
import { addExamples, examplesText, programExamples } from './help.js';

/**
 * Every command, in the order `--help` lists them. A command's module (and everything it imports:
 * the runtime, git, NATS, telemetry) is loaded only when that command runs, so `tandem --version`
 * and `tandem --help` start in a fraction of the time. `--help` lists these descriptions, which a
 * unit test keeps equal to the commands' own.
 */
interface LazyCommand {
  readonly name: string;
  readonly args: string;
  readonly description: string;
  readonly load: () => Promise<RegisterCommand>;
}

export const lazyCommands: readonly LazyCommand[] = [
  {
    name: 'run',
    args: '[paths...]',
    description: 'plan, implement, review and gate tasks from tasks.yaml files, *.task.md files or folders of them',
    load: async () => (await import('./run.js')).registerRunCommand,
  },
  {
    name: 'demo',
    args: '',
    description: 'run the demo tasks on a fresh copy of examples/demo-repo with the SCRIPTED runner (no model is called)',
    load: async () => (await import('./demo.js')).registerDemoCommand,
  },
  {
    name: 'status',
    args: '[task]',
    description: 'show every task, its state, step, attempt, cost and branch',
    load: async () => (await import('./status.js')).registerStatusCommand,
  },
  {
    name: 'review',
    args: '[task]',
    description: 'list tasks waiting for a person, or decide on one and continue it',
    load: async () => (await import('./review.js')).registerReviewCommand,
  },
  {
    name: 'resume',
    args: '',
    description: 'continue every unfinished task where it stood (after a crash, kill or Ctrl-C)',
    load: async () => (await import('./run.js')).registerResumeCommand,
  },
  {
    name: 'doctor',
    args: '',
    description: 'check the configured runners: binary, version, tested version, and a one-token call',
    load: async () => (await import('./doctor.js')).registerDoctorCommand,
  },
  {
    name: 'gate',
    args: '',
    description: 'run the quality gate on a working tree against a base commit and print what regressed',
    load: async () => (await import('./gate.js')).registerGateCommand,
  },
  {
    name: 'init',
    args: '',
    description: "write .tandem/quality.yaml: quality checks detected from the repository's tools",
    load: async () => (await import('./init.js')).registerInitCommand,
  },
  {
    name: 'route',
    args: '<paths...>',
    description: 'show which model each role would get for tasks, and why; no model is called',
    load: async () => (await import('./route.js')).registerRouteCommand,
  },
  {
    name: 'cost',
    args: '',
    description: 'spend from the recorded model calls, and what the same calls would have cost on the strongest model',
    load: async () => (await import('./cost.js')).registerCostCommand,
  },
  {
    name: 'watch',
    args: '<dir>',
    description: 'run every *.task.md / tasks.yaml dropped into a folder; write results/, summaries/ and logs/ beside them',
    load: async () => (await import('./watch.js')).registerWatchCommand,
  },
  {
    name: 'bot',
    args: '',
    description: 'serve /task, /status and /review in Telegram and send a notice when a task ends or needs a person',
    load: async () => (await import('./bot.js')).registerBotCommand,
  },
  {
    name: 'serve',
    args: '<services...>',
    description: 'run tandem services over NATS: the supervisor and/or role services (replicas of a role share its work)',
    load: async () => (await import('./serve.js')).registerServeCommand,
  },
  {
    name: 'submit',
    args: '<paths...>',
    description: 'hand tasks to the supervisors over NATS and return (distributed mode; see `tandem serve`)',
    load: async () => (await import('./nats-commands.js')).registerSubmitCommand,
  },
  {
    name: 'events',
    args: '',
    description: 'print lifecycle events of every task (or one) as the services publish them (distributed mode)',
    load: async () => (await import('./nats-commands.js')).registerEventsCommand,
  },
  {
    name: 'completion',
    args: '<shell>',
    description: 'print a shell completion script (bash, zsh or fish)',
    load: async () => (await import('./completion.js')).registerCompletionCommand,
  },
];

/** The command a command line names (`help <command>` names one too), if it is one of ours. */
function commandNamed(argv: readonly string[]): LazyCommand | undefined {
  const words = argv.filter((a) => !a.startsWith('-'));
  const name = words[0] === 'help' ? words[1] : words[0];
  return lazyCommands.find((c) => c.name === name);
}

function version(): string {
  const pkg = createRequire(import.meta.url)('../../package.json') as { version?: string };
  return pkg.version ?? '0.0.0';
}

/**
 * The CLI is a thin layer over the library: it parses flags, builds the runtime and prints.
 * `main` returns the exit code; only bin/tandem.js touches process.exitCode.
 */
export async function runCli(argv: readonly string[], io: CliIO): Promise<number> {
  let code: number = ExitCode.ok;
  const program = new Command('tandem')
    .description('Run AI coding agents as a disciplined team: planned, cross-reviewed, gated by real tests.')
    .version(version())
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError('(run `tandem --help` for usage)');
  const named = commandNamed(argv);
  // The named command for real (every one for `completion`, which describes them all); else only
  // their names and descriptions, which is all --help and --version need.
  const real = named === undefined ? [] : named.name === 'completion' ? lazyCommands : [named];
  for (const command of lazyCommands) {
    if (real.includes(command)) (await command.load())(program, io, (c) => (code = c));
    else program.command(command.args === '' ? command.name : `${command.name} ${command.args}`).description(command.description);
  }
  addExamples(program);
  program.addHelpText('after', examplesText(programExamples));
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.badInput;
    }
    if (error instanceof InputError) return printInputError(io, error);
    io.stderr.write(`tandem: ${errorMessage(error)}\n`);
    if (io.env['TANDEM_DEBUG'] && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
    return ExitCode.failed;
  }
  return code;
}

/** Entry point of bin/tandem.js. */
export async function main(argv: readonly string[]): Promise<number> {
  const controller = new AbortController();
  const now = new AbortController();
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts++;
    if (interrupts === 1) return controller.abort();
    // A second Ctrl-C means "now": the tasks are stopped where they stand (calls cancelled, locks
    // released); a command that does not listen is left after a moment, a third signal at once.
    if (interrupts === 2) {
      now.abort();
      setTimeout(() => process.exit(ExitCode.interrupted), 3_000).unref();
      return;
    }
    process.exit(ExitCode.interrupted);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // `tandem … | head`: a reader that went away is not an error of ours.
  const onPipeClosed = (error: NodeJS.ErrnoException): void => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? ExitCode.ok);
  };
  process.stdout.on('error', onPipeClosed);
  try {
    return await runCli(argv.slice(2), {
      cwd: process.cwd(),
      env: process.env,
      stdout: process.stdout,
      stderr: process.stderr,
      signal: controller.signal,
      stopNow: now.signal,
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
