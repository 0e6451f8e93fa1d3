import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import { errorMessage, InputError } from '../platform/errors.js';
import { registerDemoCommand } from './demo.js';
import { registerDoctorCommand } from './doctor.js';
import { registerGateCommand } from './gate.js';
import { registerInitCommand } from './init.js';
import { registerCostCommand } from './cost.js';
import { registerRouteCommand } from './route.js';
import { registerWatchCommand } from './watch.js';
import { registerBotCommand } from './bot.js';
import { ExitCode, type CliIO, type RegisterCommand } from './io.js';
import { printInputError } from './print-error.js';
import { registerReviewCommand } from './review.js';
import { registerResumeCommand, registerRunCommand } from './run.js';
import { registerStatusCommand } from './status.js';
import { registerServeCommand } from './serve.js';
import { registerEventsCommand, registerSubmitCommand } from './nats-commands.js';
import { registerCompletionCommand } from './completion.js';
import { addExamples, examplesText, programExamples } from './help.js';

const commands: readonly RegisterCommand[] = [
  registerRunCommand,
  registerDemoCommand,
  registerStatusCommand,
  registerReviewCommand,
  registerResumeCommand,
  registerDoctorCommand,
  registerGateCommand,
  registerInitCommand,
  registerRouteCommand,
  registerCostCommand,
  registerWatchCommand,
  registerBotCommand,
  registerServeCommand,
  registerSubmitCommand,
  registerEventsCommand,
  registerCompletionCommand,
];

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
  for (const register of commands) register(program, io, (c) => (code = c));
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
