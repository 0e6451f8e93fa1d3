import { resolve } from 'node:path';
import { InputError } from '../platform/errors.js';
import { explainRouting, formatExplanation } from '../routing/route-explain.js';
import { loadTaskFiles } from '../tasks/load-tasks.js';
import { configFrom, withNatsOption, withStateOptions, type CommonFlags } from './common-options.js';
import { routingRecordsFor } from './cost.js';
import { ExitCode, type RegisterCommand } from './io.js';
import { printInputError } from './print-error.js';
import { availableRunners, roleRunnerProblems } from './runner-check.js';

interface RouteFlags extends CommonFlags {
  readonly explain?: boolean;
  readonly runner?: string;
  readonly json?: boolean;
}

export const registerRouteCommand: RegisterCommand = (program, io, done) => {
  withNatsOption(withStateOptions(program.command('route').description('show which model each role would get for tasks, and why; no model is called')))
    .argument('<paths...>', 'task files or folders')
    .option('--explain', 'say why: matrix cell, complexity score, diversity rule, budget, history')
    .option('--runner <name>', 'as if this runner answered every role (runner_override)')
    .option('--json', 'print JSON')
    .action(async (paths: string[], flags: RouteFlags) => {
      try {
        const loaded = configFrom(io, flags);
        const tasks = await loadTaskFiles(paths.map((p) => resolve(io.cwd, p)));
        const records = await routingRecordsFor(io, loaded, flags, 'tandem route');
        if (typeof records === 'number') return done(records);
        const { ledger, history, plans } = records;
        const available = await availableRunners(loaded);
        const explained = explainRouting({
          config: loaded.config,
          tasks: tasks.map((t) => t.spec),
          ledger,
          history,
          plans,
          now: Date.now(),
          runnerAvailable: (name) => available.get(name)?.ok === true,
        });
        const runnersLine = `runners: ${[...available].map(([name, a]) => `${name} ${a.ok ? a.detail : `unavailable (${a.detail})`}`).join(' · ')}\n`;
        io.stdout.write(
          flags.json
            ? `${JSON.stringify({ runners: Object.fromEntries(available), tasks: explained }, null, 2)}\n`
            : `${runnersLine}\n${formatExplanation(explained, { reasons: flags.explain === true })}`,
        );
        // A role no runner here can take: a run would refuse to start, so this says so and fails too.
        const problems = roleRunnerProblems(loaded, available, io.env);
        for (const problem of problems) io.stderr.write(`tandem route: ${problem.message}\n`);
        done(problems.length === 0 ? ExitCode.ok : ExitCode.failed);
      } catch (error) {
        if (error instanceof InputError) return done(printInputError(io, error));
        throw error;
      }
    });
};
