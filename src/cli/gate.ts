import { relative, resolve } from 'node:path';
import { InputError } from '../platform/errors.js';
import { formatGateReport } from '../gate/format-report.js';
import { resolveGateSettings } from '../gate/gate-settings.js';
import { createRatchetGate } from '../gate/ratchet-gate.js';
import { excludeStateDir } from '../workspace/repo-exclude.js';
import { git } from '../workspace/git.js';
import { configFrom, withStateOptions } from './common-options.js';
import { ExitCode, type CliIO, type RegisterCommand } from './io.js';
import { printInputError } from './print-error.js';

interface GateFlags {
  readonly repo: string;
  readonly base?: string;
  readonly json?: boolean;
  readonly allowBreaking?: boolean;
  readonly config?: string;
  readonly stateDir?: string;
  readonly logLevel?: string;
}

/** Baselines of `tandem gate`, under the state dir, cached by base commit like a task's. */
const BASELINES_DIR = 'gate-baselines';

/**
 * `tandem gate --repo . [--base main] [--json]`: the task gate run by hand on a working tree, so a
 * person can try the configuration before trusting tasks to it. Exit 0 passed, 1 failed, 2 bad input.
 */
export const registerGateCommand: RegisterCommand = (program, io, done) => {
  withStateOptions(program.command('gate'))
    .description('run the quality gate on a working tree against a base commit and print what regressed')
    .option('--repo <dir>', 'the repository whose working tree is checked', '.')
    .option('--base <ref>', 'the commit to compare with (default: the config base, else HEAD)')
    .option('--json', 'print the report as JSON')
    .option('--allow-breaking', 'removed public exports do not fail the gate')
    .action(async (flags: GateFlags) => done(await runGate(io, flags)));
};

async function runGate(io: CliIO, flags: GateFlags): Promise<ExitCode> {
  try {
    const loaded = configFrom(io, { config: flags.config, stateDir: flags.stateDir, logLevel: flags.logLevel, base: flags.base });
    const root = await repositoryRoot(resolve(io.cwd, flags.repo));
    const resolved = await resolveGateSettings(loaded.config.gate, root);
    if (resolved.settings.checks.length === 0) {
      throw new InputError([
        { file: root, message: 'no quality checks are configured and none were detected: run `tandem init` to write .tandem/quality.yaml' },
      ]);
    }
    const baseCommit = await resolveBase(root, loaded.config.base ?? 'HEAD');
    const baselineDir = resolve(loaded.stateDir, BASELINES_DIR);
    // tandem's state (cached baselines among it) must not read as an untracked change of the next run.
    await excludeStateDir(root, loaded.stateDir);
    const gate = createRatchetGate({ settings: resolved.settings, baselineDir, stateDir: loaded.stateDir });
    const report = await gate.run({
      cwd: root,
      taskId: 'cli',
      stepId: 'gate',
      baseCommit,
      signal: io.signal,
      allowBreaking: flags.allowBreaking === true,
      // Live progress on stderr, so stdout stays the report (and valid JSON with --json).
      onProgress: (event) => {
        const where = event.base ? ' (base)' : '';
        io.stderr.write(
          event.type === 'check.started'
            ? `gate: ${event.check}${where} started\n`
            : `gate: ${event.check}${where} ${event.passed ? 'finished' : 'failed'} in ${(event.duration_ms / 1000).toFixed(1)} s\n`,
        );
      },
    });
    if (io.signal.aborted) return ExitCode.interrupted;
    const source =
      resolved.file !== undefined && resolved.source === 'quality-file'
        ? relative(io.cwd, resolved.file) || resolved.file
        : resolved.source === 'detected'
          ? 'detected defaults'
          : (loaded.file ?? 'the config');
    io.stdout.write(flags.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatGateReport(report, { source }));
    return report.passed ? ExitCode.ok : ExitCode.failed;
  } catch (error) {
    if (error instanceof InputError) return printInputError(io, error);
    throw error;
  }
}

async function repositoryRoot(dir: string): Promise<string> {
  const result = await git(dir, ['rev-parse', '--show-toplevel'], { allowFailure: true }).catch(() => undefined);
  if (result === undefined || result.exitCode !== 0)
    throw new InputError([{ file: 'command line', field: '--repo', message: `${dir} is not inside a git repository` }]);
  return result.stdout.trim();
}

async function resolveBase(root: string, ref: string): Promise<string> {
  const result = await git(root, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`], { allowFailure: true });
  if (result.exitCode !== 0) throw new InputError([{ file: 'command line', field: '--base', message: `no commit ${JSON.stringify(ref)} in ${root}` }]);
  return result.stdout.trim();
}
