import { runCli } from '../../src/cli/main.js';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `tandem <args>` in this process through runCli, with captured output, no TTY and no environment. */
export async function tandem(cwd: string, ...args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    cwd,
    env: {},
    stdout: { write: (text: string) => void (stdout += text), isTTY: false },
    stderr: { write: (text: string) => void (stderr += text), isTTY: false },
    signal: new AbortController().signal,
  });
  return { code, stdout, stderr };
}
