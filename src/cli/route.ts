import { resolve } from 'node:path';
import { createRunners as createModelRunners, runnerSettingsFrom } from '../runners/registry.js';
import { isTestedVersion, type CliRunnerName } from '../runners/versions.js';
import type { LoadedConfig } from '../config/load-config.js';
import { InputError } from '../platform/errors.js';
import { explainRouting, formatExplanation } from '../routing/route-explain.js';
import { loadTaskFiles } from '../tasks/load-tasks.js';
import { configFrom, withNatsOption, withStateOptions, type CommonFlags } from './common-options.js';
import { routingRecordsFor } from './cost.js';
import { ExitCode, type RegisterCommand } from './io.js';
import { printInputError } from './print-error.js';

/**
 * Which runners can take calls here, as a run would find out on its first call: the CLI's binary
 * and a tested version, Ollama's server; with runner_override only that runner is asked about.
 */
async function availableRunners(loaded: LoadedConfig): Promise<Map<string, { ok: boolean; detail: string }>> {
  const { config } = loaded;
  const result = new Map<string, { ok: boolean; detail: string }>();
  if (config.runner_override !== undefined) {
    result.set(config.runner_override, { ok: true, detail: 'runner_override' });
    return result;
  }
  const runners = createModelRunners(runnerSettingsFrom(config.runners));
  await Promise.all(
    [...runners].map(async ([name, runner]) => {
      const probe = await runner.version();
      if (!probe.ok) result.set(name, { ok: false, detail: probe.message });
      else if ('command' in probe && !config.runners[name as CliRunnerName]?.allow_untested_version && !isTestedVersion(name as CliRunnerName, probe.version)) {
        result.set(name, { ok: false, detail: `version ${probe.version} not tested` });
      } else result.set(name, { ok: true, detail: probe.version });
    }),
  );
  return new Map([...result].sort(([a], [b]) => a.localeCompare(b)));
}

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
        const explained = explainRouting({ config: loaded.config, tasks: tasks.map((t) => t.spec), ledger, history, plans, now: Date.now(), runnerAvailable: (name) => available.get(name)?.ok === true });
        const runnersLine = `runners: ${[...available].map(([name, a]) => `${name} ${a.ok ? a.detail : `unavailable (${a.detail})`}`).join(' · ')}\n`;
        io.stdout.write(flags.json ? `${JSON.stringify({ runners: Object.fromEntries(available), tasks: explained }, null, 2)}\n` : `${runnersLine}\n${formatExplanation(explained, { reasons: flags.explain === true })}`);
        done(ExitCode.ok);
      } catch (error) {
        if (error instanceof InputError) return done(printInputError(io, error));
        throw error;
      }
    });
};
