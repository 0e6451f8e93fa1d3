import { realpath, stat, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findOnPath } from '../platform/process/find-on-path.js';
import { probeVersion, type VersionProbe } from './cli-version.js';

/** Tries of a probe that timed out: a loaded machine may answer the next one; a bound keeps a hung CLI from holding a call. */
const VERSION_PROBE_ATTEMPTS = 3;

type FoundVersion = Extract<VersionProbe, { ok: true }>;

/**
 * Versions found, per binary (its real path) and modification time, for the life of the process: every
 * runner, task and `doctor` asks once per binary, and a CLI upgraded in place is probed again.
 */
const found = new Map<string, Promise<VersionProbe>>();

/**
 * The version of one runner's CLI, probed on first use and remembered once found (a CLI installed
 * while tandem runs is found on the next call). A probe that timed out is tried again, up to
 * VERSION_PROBE_ATTEMPTS times, and its failure is never remembered. With an isolated config home
 * the probe gets its own throwaway HOME too: even `--version` writes to HOME (codex unpacks helper
 * binaries, gemini its project list).
 */
export function rememberedVersion(options: {
  readonly runner: string;
  readonly command: string;
  readonly baseEnv: Readonly<Record<string, string>>;
  /** The runner settings' `env`; it wins over the isolated HOME and TMPDIR, as on a real call. */
  readonly settingsEnv: Readonly<Record<string, string>> | undefined;
  readonly isolated: boolean;
  /** How long one `--version` may take (runners.<name>.version_timeout_ms). */
  readonly timeoutMs: number;
}): () => Promise<VersionProbe> {
  const { runner, command, baseEnv, settingsEnv, timeoutMs } = options;
  const env = { ...baseEnv, ...settingsEnv };
  const probeOnce = async (): Promise<VersionProbe> => {
    if (!options.isolated) return probeVersion(command, env, timeoutMs);
    const home = await mkdtemp(path.join(tmpdir(), `tandem-${runner}-version-`));
    try {
      return await probeVersion(command, { ...baseEnv, HOME: home, TMPDIR: home, ...settingsEnv }, timeoutMs);
    } finally {
      await rm(home, { recursive: true, force: true, maxRetries: 3 });
    }
  };
  const probe = async (): Promise<VersionProbe> => {
    let last: VersionProbe | undefined;
    for (let attempt = 1; attempt <= VERSION_PROBE_ATTEMPTS; attempt++) {
      last = await probeOnce();
      if (last.ok || last.reason !== 'timeout') return last;
    }
    const timedOut = last as Exclude<VersionProbe, FoundVersion>;
    return { ...timedOut, message: `${command} --version did not answer within ${timeoutMs} ms in ${VERSION_PROBE_ATTEMPTS} tries` };
  };
  return async () => {
    const binary = await binaryKey(command, env);
    // Not found on PATH: the probe says so in its own words (and a CLI installed later is found next time).
    if (binary === undefined) return probe();
    let answer = found.get(binary);
    if (answer === undefined) {
      answer = probe();
      found.set(binary, answer);
    }
    const result = await answer;
    if (!result.ok) found.delete(binary);
    // The same binary may be reached under another name (a symlink on PATH): report this runner's command.
    return { ...result, command };
  };
}

/** The binary's real path and modification time, or undefined when it is not there. */
async function binaryKey(command: string, env: Readonly<Record<string, string>>): Promise<string | undefined> {
  const file = findOnPath(command, env, process.cwd());
  if (file === null) return undefined;
  try {
    const real = await realpath(file);
    const info = await stat(real);
    return `${real}\u0000${info.mtimeMs}`;
  } catch {
    return undefined;
  }
}
