import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { errorMessage } from '../platform/errors.js';
import { runProcess } from '../platform/process/run-process.js';
import { parseVersion } from './versions.js';

export type VersionProbe =
  | { readonly ok: true; readonly command: string; readonly version: string; readonly raw: string }
  | { readonly ok: false; readonly command: string; readonly reason: 'not_found' | 'failed'; readonly message: string };

/** Runs `<command> --version` (bounded) and reads the version number from its output. */
export async function probeVersion(command: string, env: Readonly<Record<string, string>>, timeoutMs: number): Promise<VersionProbe> {
  let result;
  try {
    result = await runProcess({ command, args: ['--version'], cwd: process.cwd(), env, timeoutMs, maxOutputBytes: 64 * 1024 });
  } catch (error) {
    const message = errorMessage(error);
    return { ok: false, command, reason: /not found|ENOENT/i.test(message) ? 'not_found' : 'failed', message };
  }
  const raw = `${result.stdout}\n${result.stderr}`.trim();
  if (result.timedOut) return { ok: false, command, reason: 'failed', message: `${command} --version did not answer within ${timeoutMs} ms` };
  const version = parseVersion(result.stdout) ?? parseVersion(result.stderr);
  if (result.exitCode !== 0 || version === undefined) {
    return { ok: false, command, reason: 'failed', message: `${command} --version failed (exit ${String(result.exitCode)}): ${raw.slice(0, 300)}` };
  }
  return { ok: true, command, version, raw };
}

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
