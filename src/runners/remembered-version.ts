import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { probeVersion, type VersionProbe } from './cli-version.js';

const VERSION_TIMEOUT_MS = 30_000;

/**
 * The version of one runner's CLI, probed on first use and remembered once found (a CLI installed
 * while tandem runs is found on the next call). With an isolated config home the probe gets its
 * own throwaway HOME too: even `--version` writes to HOME (codex unpacks helper binaries, gemini
 * its project list).
 */
export function rememberedVersion(options: {
  readonly runner: string;
  readonly command: string;
  readonly baseEnv: Readonly<Record<string, string>>;
  /** The runner settings' `env`; it wins over the isolated HOME and TMPDIR, as on a real call. */
  readonly settingsEnv: Readonly<Record<string, string>> | undefined;
  readonly isolated: boolean;
}): () => Promise<VersionProbe> {
  const { runner, command, baseEnv, settingsEnv } = options;
  let probe: Promise<VersionProbe> | undefined;
  const probeIsolated = async (): Promise<VersionProbe> => {
    if (!options.isolated) return probeVersion(command, { ...baseEnv, ...settingsEnv }, VERSION_TIMEOUT_MS);
    const home = await mkdtemp(path.join(tmpdir(), `tandem-${runner}-version-`));
    try {
      return await probeVersion(command, { ...baseEnv, HOME: home, TMPDIR: home, ...settingsEnv }, VERSION_TIMEOUT_MS);
    } finally {
      await rm(home, { recursive: true, force: true, maxRetries: 3 });
    }
  };
  return async () => {
    probe ??= probeIsolated();
    const found = await probe;
    if (!found.ok) probe = undefined;
    return found;
  };
}
