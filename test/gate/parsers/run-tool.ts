import { mkdtemp, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProcess } from '../../../src/platform/process/run-process.js';
import { writeFiles } from '../fixture-repos.js';

export interface ToolOutput {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A temp project with `files`; `cleanup` removes it. */
export async function toolProject(files: Readonly<Record<string, string>>): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await realpath(await mkdtemp(join(tmpdir(), 'tandem-tool-')));
  await writeFiles(dir, files);
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Runs a real tool in `dir` through the shell, with CI set as the gate does, bounded in time. */
export async function runTool(dir: string, command: string, env: Readonly<Record<string, string>> = {}): Promise<ToolOutput> {
  const result = await runProcess({ command, shell: true, cwd: dir, env: { CI: 'true', NO_COLOR: '1', ...env }, timeoutMs: 60_000 });
  if (result.timedOut) throw new Error(`${command} timed out`);
  return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
}

export function readText(path: string): Promise<string> {
  return readFile(path, 'utf8');
}
