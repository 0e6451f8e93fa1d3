import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ModelRef } from '../model/execution.js';
import type { AgentRunner } from '../runners/agent-runner.js';
import { createOllamaRunner } from '../runners/ollama.js';
import { createCodingCliRunner, isModelRunnerName, modelRunnerNames, runnerSettingsFrom, type ModelRunnerName } from '../runners/registry.js';
import type { CliRunnersConfig } from '../runners/runner-settings.js';
import { isTestedVersion, testedVersions } from '../runners/versions.js';
import { InputError } from '../platform/errors.js';
import { configFrom, withStateOptions, type CommonFlags } from './common-options.js';
import { ExitCode, type CliIO, type RegisterCommand } from './io.js';
import { printInputError } from './print-error.js';
import { findOnPath } from '../platform/process/find-on-path.js';
import { lookedIn } from './runner-check.js';

interface DoctorFlags extends CommonFlags {
  readonly offline?: boolean;
  readonly json?: boolean;
}

/** One row of `tandem doctor`: what was found for a configured runner. */
export interface RunnerCheck {
  readonly runner: string;
  readonly roles: readonly string[];
  readonly model: string;
  /** Absolute path of the binary (CLIs) or the server URL (ollama); null when not found. */
  readonly binary: string | null;
  readonly version: string | null;
  /** Whether the version is one the e2e suite passed against; null when that does not apply. */
  readonly tested: boolean | null;
  readonly call: { readonly status: 'ok' | 'failed' | 'skipped'; readonly detail?: string; readonly latency_ms?: number };
  readonly problems: readonly string[];
}

const CALL_TIMEOUT_MS = 120_000;
const PROBE_PROMPT = 'This is a connectivity check. Reply with the single word: ok';

function defaultCommand(runner: Exclude<ModelRunnerName, 'ollama'>): string {
  return { 'claude-code': 'claude', 'gemini-cli': 'gemini', 'codex-cli': 'codex' }[runner];
}

/** The runners the config uses, each with the roles (and a model) that use it. */
function configuredRunners(roles: Readonly<Record<string, ModelRef>>, override: string | undefined): Map<string, { roles: string[]; model: ModelRef }> {
  const used = new Map<string, { roles: string[]; model: ModelRef }>();
  for (const [role, ref] of Object.entries(roles)) {
    const name = override ?? ref.runner;
    const entry = used.get(name) ?? { roles: [], model: { ...ref, runner: name } };
    entry.roles.push(role);
    used.set(name, entry);
  }
  return used;
}

async function probeCall(runner: AgentRunner, model: ModelRef, signal: AbortSignal): Promise<RunnerCheck['call']> {
  const cwd = await mkdtemp(path.join(tmpdir(), 'tandem-doctor-'));
  try {
    const result = await runner.run(
      { role: 'planner', taskId: 'doctor', attempt: 1, try: 0, prompt: PROBE_PROMPT, cwd, model, allowEdits: false, timeoutMs: CALL_TIMEOUT_MS },
      { signal },
    );
    if (result.success) return { status: 'ok', detail: `${result.tokens_input} in / ${result.tokens_output} out tokens`, latency_ms: result.latency_ms };
    return { status: 'failed', detail: `${result.error_kind ?? 'failed'}: ${result.error ?? ''}`, latency_ms: result.latency_ms };
  } finally {
    await rm(cwd, { recursive: true, force: true });
  }
}

/** Checks every runner the config uses; `offline` skips the one-token calls. */
export async function checkRunners(input: {
  roles: Readonly<Record<string, ModelRef>>;
  override: string | undefined;
  settings: CliRunnersConfig;
  io: Pick<CliIO, 'env' | 'cwd' | 'signal'>;
  offline: boolean;
}): Promise<RunnerCheck[]> {
  const options = { env: input.io.env };
  const checks: RunnerCheck[] = [];
  for (const [name, use] of configuredRunners(input.roles, input.override)) {
    const base = { runner: name, roles: use.roles, model: use.model.model };
    if (!isModelRunnerName(name)) {
      const scripted = name === 'scripted';
      checks.push({
        ...base,
        binary: null,
        version: null,
        tested: null,
        call: { status: 'skipped', detail: scripted ? 'replays a script; no model behind it' : undefined },
        problems: scripted ? [] : [`unknown runner "${name}" (known: scripted, ${modelRunnerNames.join(', ')})`],
      });
      continue;
    }
    const problems: string[] = [];
    let runner: AgentRunner;
    let binary: string | null;
    let version: string | null = null;
    let tested: boolean | null = null;
    if (name === 'ollama') {
      const ollama = createOllamaRunner(input.settings.ollama);
      runner = ollama;
      binary = input.settings.ollama.host;
      const found = await ollama.version();
      if (found.ok) version = found.version;
      else problems.push(found.message);
    } else {
      const cli = createCodingCliRunner(name, input.settings, options);
      runner = cli;
      const command = input.settings[name].command ?? defaultCommand(name);
      binary = findOnPath(command, input.io.env, input.io.cwd);
      if (binary === null)
        problems.push(
          `${command} was not found (${lookedIn(input.io.env)}); install it (tested: ${testedVersions[name].join(', ')}) or set runners.${name}.command`,
        );
      else {
        const found = await cli.version();
        if (found.ok) {
          version = found.version;
          tested = isTestedVersion(name, found.version);
          if (!tested) problems.push(`version ${found.version} was not tested with tandem (tested: ${testedVersions[name].join(', ')})`);
        } else problems.push(found.message);
      }
    }
    const reachable = version !== null;
    const call: RunnerCheck['call'] = input.offline
      ? { status: 'skipped', detail: '--offline' }
      : reachable
        ? await probeCall(runner, use.model, input.io.signal)
        : { status: 'skipped', detail: 'runner not available' };
    if (call.status === 'failed') problems.push(`the one-token call failed: ${call.detail ?? ''}`);
    checks.push({ ...base, binary, version, tested, call, problems });
  }
  return checks;
}

function formatChecks(checks: readonly RunnerCheck[]): string {
  const header = ['RUNNER', 'ROLES', 'BINARY', 'VERSION', 'TESTED', 'CALL'];
  const rows = checks.map((c) => [
    c.runner,
    c.roles.join(','),
    c.binary ?? 'not found',
    c.version ?? '-',
    c.tested === null ? '-' : c.tested ? 'yes' : 'NO',
    c.call.status === 'ok' ? `ok (${c.call.latency_ms ?? 0} ms)` : c.call.status,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const render = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const lines = [render(header), ...rows.map(render)];
  for (const check of checks) for (const problem of check.problems) lines.push(`${check.runner}: ${problem}`);
  return `${lines.join('\n')}\n`;
}

/** `tandem doctor`: for each configured runner, its binary, version, tested pin and a one-token call. */
export const registerDoctorCommand: RegisterCommand = (program, io, done) => {
  withStateOptions(
    program
      .command('doctor')
      .description('check the configured runners: binary, version, tested version, and a one-token call')
      .option('--offline', 'skip the one-token call to each model')
      .option('--json', 'print JSON'),
  ).action(async (flags: DoctorFlags) => {
    let checks: RunnerCheck[];
    try {
      const { config } = configFrom(io, flags);
      checks = await checkRunners({
        roles: config.roles,
        override: config.runner_override,
        settings: runnerSettingsFrom(config.runners),
        io,
        offline: flags.offline === true,
      });
    } catch (error) {
      if (error instanceof InputError) return done(printInputError(io, error));
      throw error;
    }
    io.stdout.write(flags.json === true ? `${JSON.stringify(checks, null, 2)}\n` : formatChecks(checks));
    done(checks.every((c) => c.problems.length === 0) ? ExitCode.ok : ExitCode.failed);
  });
};
