import type { LoadedConfig } from '../config/load-config.js';
import type { InputIssue } from '../platform/errors.js';
import { pathEntries } from '../platform/process/find-on-path.js';
import { runnerIssues, routableRunners } from '../routing/routing.js';
import { createRunners as createModelRunners, isModelRunnerName, runnerSettingsFrom } from '../runners/registry.js';
import { isTestedVersion, type CliRunnerName } from '../runners/versions.js';

/** Whether a runner can take calls here, and what was found (a version) or why not. */
export interface RunnerAvailability {
  readonly ok: boolean;
  readonly detail: string;
  /** The binary was not found on PATH. */
  readonly missing?: boolean;
}

/** "looked in: /usr/local/bin, /usr/bin" — said whenever a command was not found. */
export function lookedIn(env: Readonly<Record<string, string | undefined>>): string {
  const dirs = pathEntries(env);
  return dirs.length === 0 ? 'PATH is empty' : `looked in PATH: ${dirs.join(', ')}`;
}

/**
 * Which runners the routing may send calls to can take them here, as a run would find out on its
 * first call: the CLI's binary and a tested version, Ollama's server. With `--runner` only that
 * runner is asked about; the scripted runner is always there once its script loaded.
 */
export async function availableRunners(loaded: LoadedConfig): Promise<Map<string, RunnerAvailability>> {
  const { config } = loaded;
  const override = config.runner_override;
  const models = createModelRunners(runnerSettingsFrom(config.runners));
  const wanted = override === undefined ? [...new Set([...models.keys(), ...routableRunners(config).keys()])] : [override];
  const result = new Map<string, RunnerAvailability>();
  await Promise.all(
    wanted.map(async (name) => {
      const runner = isModelRunnerName(name) ? models.get(name) : undefined;
      if (!runner) {
        result.set(name, name === 'scripted' ? { ok: true, detail: 'scripted' } : { ok: false, detail: 'no such runner' });
        return;
      }
      const probe = await runner.version();
      if (!probe.ok) {
        const missing = 'reason' in probe && probe.reason === 'not_found';
        result.set(name, missing ? { ok: false, detail: `${probe.command} not found`, missing: true } : { ok: false, detail: probe.message });
      } else if (
        'command' in probe &&
        !config.runners[name as CliRunnerName]?.allow_untested_version &&
        !isTestedVersion(name as CliRunnerName, probe.version)
      ) {
        result.set(name, { ok: false, detail: `version ${probe.version} not tested` });
      } else result.set(name, { ok: true, detail: probe.version });
    }),
  );
  return new Map([...result].sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * One problem per role that no runner here can take, naming the role, the runners its models need
 * and why each is out, and what to do about it.
 */
export function roleRunnerProblems(
  loaded: LoadedConfig,
  available: ReadonlyMap<string, RunnerAvailability>,
  env: Readonly<Record<string, string | undefined>>,
): InputIssue[] {
  const ok = [...available].filter(([, a]) => a.ok).map(([name]) => name);
  return runnerIssues(loaded.config, ok).map((issue) => {
    const role = issue.field?.startsWith('roles.') ? issue.field.split('.')[1] : issue.field?.split('.').at(-1);
    // A routed role names the runners its models need; a pinned one names its single runner.
    const pinned = /no runner named "([^"]+)"/.exec(issue.message)?.[1];
    const needed = /they need ([^;]+);/.exec(issue.message)?.[1]?.split(', ') ?? (pinned === undefined ? [] : [pinned]);
    const out = needed.map((name) => [name, available.get(name)] as const).filter(([, a]) => a && !a.ok);
    const why = out.length === 0 ? issue.message : `its models need ${needed.join(' or ')}: ${out.map(([name, a]) => `${name} ${a?.detail ?? ''}`).join(', ')}`;
    const where = out.some(([, a]) => a?.missing) ? ` (${lookedIn(env)})` : '';
    return {
      file: loaded.file ?? 'config',
      field: issue.field,
      message: `no runner can take the ${role ?? 'role'} role: ${why}${where}; see \`tandem doctor\`, or try it with \`--runner scripted --script <file>\``,
    };
  });
}
