import { errorMessage } from '../platform/errors.js';
import { runProcess } from '../platform/process/run-process.js';
import { parseVersion } from './versions.js';

export type VersionProbe =
  | { readonly ok: true; readonly command: string; readonly version: string; readonly raw: string }
  /** `timeout`: the CLI did not answer in time (a loaded machine), which says nothing about the CLI itself. */
  | { readonly ok: false; readonly command: string; readonly reason: 'not_found' | 'failed' | 'timeout'; readonly message: string };

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
  if (result.timedOut) return { ok: false, command, reason: 'timeout', message: `${command} --version did not answer within ${timeoutMs} ms` };
  const version = parseVersion(result.stdout) ?? parseVersion(result.stderr);
  if (result.exitCode !== 0 || version === undefined) {
    return { ok: false, command, reason: 'failed', message: `${command} --version failed (exit ${String(result.exitCode)}): ${raw.slice(0, 300)}` };
  }
  return { ok: true, command, version, raw };
}
