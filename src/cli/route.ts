import { resolve } from 'node:path';
import { InputError } from '../errors.js';
import { explainRouting, formatExplanation } from '../routing/route-explain.js';
import { loadTaskFiles } from '../tasks/load-tasks.js';
import { configFrom, withStateOptions, type CommonFlags } from './common-options.js';
import { readRoutingRecords } from './cost.js';
import { ExitCode, type RegisterCommand } from './io.js';
import { printInputError } from './print-error.js';

interface RouteFlags extends CommonFlags {
  readonly explain?: boolean;
  readonly runner?: string;
  readonly json?: boolean;
}

export const registerRouteCommand: RegisterCommand = (program, io, done) => {
  withStateOptions(program.command('route').description('show which model each role would get for tasks, and why; no model is called'))
    .argument('<paths...>', 'task files or folders')
    .option('--explain', 'say why: matrix cell, complexity score, diversity rule, budget, history')
    .option('--runner <name>', 'as if this runner answered every role (runner_override)')
    .option('--json', 'print JSON')
    .action(async (paths: string[], flags: RouteFlags) => {
      try {
        const loaded = configFrom(io, flags);
        const tasks = await loadTaskFiles(paths.map((p) => resolve(io.cwd, p)));
        const { ledger, history } = await readRoutingRecords(loaded.stateDir);
        const explained = explainRouting({ config: loaded.config, tasks: tasks.map((t) => t.spec), ledger, history, now: Date.now() });
        io.stdout.write(flags.json ? `${JSON.stringify({ tasks: explained }, null, 2)}\n` : formatExplanation(explained, { reasons: flags.explain === true }));
        done(ExitCode.ok);
      } catch (error) {
        if (error instanceof InputError) return done(printInputError(io, error));
        throw error;
      }
    });
};
