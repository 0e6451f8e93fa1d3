import { mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { stringify } from 'yaml';
import { QUALITY_FILE, parseQualityFile } from '../gate/quality-file.js';
import { InputError } from '../platform/errors.js';
import { detectQualityChecks } from '../gate/detect-checks.js';
import { probe, probeCommand, type ProbeContext } from '../gate/probe-tools.js';
import { excludeStateDir } from '../workspace/repo-exclude.js';
import { ExitCode, type CliIO, type RegisterCommand } from './io.js';
import { printInputError } from './print-error.js';

interface InitFlags {
  readonly repo: string;
  readonly force?: boolean;
}

const HEADER = `# tandem's quality gate for this repository (see \`tandem gate --help\`).
# Every step of a task must keep all tests green, add no warning the base commit did not have,
# and not lower line coverage; checks run on the change sizes in runs_on (TRIVIAL, SMALL, MEDIUM,
# LARGE). Reports go to $TANDEM_GATE_OUT, a fresh folder outside the worktree.
# Try it with: tandem gate --repo . --base main
`;

/** `tandem init [--repo .] [--force]`: writes `.tandem/quality.yaml` from the tools the repository uses. */
export const registerInitCommand: RegisterCommand = (program, io, done) => {
  program
    .command('init')
    .description("write .tandem/quality.yaml: quality checks detected from the repository's tools")
    .option('--repo <dir>', 'the repository to configure', '.')
    .option('--force', 'overwrite an existing .tandem/quality.yaml')
    .action(async (flags: InitFlags) => done(await runInit(io, flags)));
};

interface CheckProbe {
  readonly check: string;
  readonly command: string | undefined;
  readonly ok: boolean;
  readonly detail: string;
}

/** Every proposed check's tool asked for its version, so what cannot run is said now, not at the first gate. */
async function probeChecks(checks: readonly { name: string; command: string }[], context: ProbeContext): Promise<CheckProbe[]> {
  const results: CheckProbe[] = [];
  for (const check of checks) {
    const command = probeCommand(check.command);
    if (command === undefined) {
      results.push({ check: check.name, command, ok: true, detail: 'not probed' });
      continue;
    }
    const result = await probe(command, context);
    results.push({ check: check.name, command, ...result });
  }
  return results;
}

function probeReport(probes: readonly CheckProbe[]): string {
  if (probes.length === 0) return '';
  const ok = probes.filter((p) => p.ok);
  const failed = probes.filter((p) => !p.ok);
  const lines = ['checked:', ...ok.map((p) => `  ${p.check}: ${p.command === undefined ? 'not probed' : `\`${p.command}\` → ${p.detail}`}`)];
  if (failed.length > 0) {
    lines.push(
      'could not set up (the gate will report these as `environment` until the tool is installed):',
      ...failed.map((p) => `  ${p.check}: \`${p.command ?? ''}\` failed: ${p.detail}`),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The PATH (and HOME) the checks will see: the command's own environment. */
function pathEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'VIRTUAL_ENV']) {
    const value = env[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

async function runInit(io: CliIO, flags: InitFlags): Promise<ExitCode> {
  try {
    const root = resolve(io.cwd, flags.repo);
    if (!(await stat(root).catch(() => undefined))?.isDirectory())
      throw new InputError([{ file: 'command line', field: '--repo', message: `${root} is not a directory` }]);
    const file = join(root, QUALITY_FILE);
    if ((await stat(file).catch(() => undefined)) !== undefined && flags.force !== true) {
      throw new InputError([{ file, message: 'already exists; pass --force to overwrite it' }]);
    }
    const env = pathEnv(io.env);
    const detected = await detectQualityChecks(root, { env });
    const probes = await probeChecks(detected.checks, { cwd: root, env });
    const text = `${HEADER}${detected.checks.length === 0 ? '# No tools were detected; add checks below.\n' : ''}${stringify({ coverage_tolerance: 0, flaky_tests: 'fail', checks: detected.checks }, { lineWidth: 0 })}`;
    // What init writes must load: a mistake here is a bug, reported like any input problem.
    parseQualityFile(text, file);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, text);
    // tandem's state (baselines, logs, worktrees) under .tandem/ must never count as a change.
    const excluded = await excludeStateDir(root).then(
      () => true,
      () => false,
    );
    const shown = relative(io.cwd, file) || file;
    io.stdout.write(
      detected.found.length === 0
        ? `wrote ${shown} with no checks: no package.json, pyproject.toml, setup.cfg, go.mod or Cargo.toml was found\n`
        : `detected:\n${detected.found.map((f) => `  ${f}\n`).join('')}${detected.notes.map((n) => `${n}\n`).join('')}${probeReport(probes)}${excluded ? "kept .tandem/ (tandem's state) out of git status through .git/info/exclude\n" : ''}wrote ${shown} with ${detected.checks.length} check${detected.checks.length === 1 ? '' : 's'}: ${detected.checks.map((c) => c.name).join(', ')}\nnext: tandem gate --repo ${flags.repo}\n`,
    );
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof InputError) return printInputError(io, error);
    throw error;
  }
}
