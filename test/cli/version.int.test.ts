import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/** `tandem --version` and `--help` load no command module (the engine, git, NATS, telemetry stay unloaded). */
describe('a fast --version', () => {
  it('`--version` loads no command module: no pino, commander only (child process, built dist)', async () => {
    const main = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
    const probe = (args: string[]): string =>
      `import { createRequire } from 'node:module'; const { runCli } = await import(${JSON.stringify(main)}); let out = ''; const io = { cwd: '/', env: {}, stdout: { write: (t) => (out += t) }, stderr: { write: () => {} }, signal: new AbortController().signal }; await runCli(${JSON.stringify(args)}, io); const loaded = Object.keys(createRequire(import.meta.url).cache); console.log(JSON.stringify({ out, pino: loaded.some((f) => f.includes('/node_modules/pino/')) }));`;
    const run = async (args: string[]) =>
      JSON.parse((await promisify(execFile)(process.execPath, ['--input-type=module', '-e', probe(args)])).stdout) as { out: string; pino: boolean };
    expect(await run(['--version'])).toEqual({ out: '0.1.0\n', pino: false });
    expect((await run(['--help'])).pino).toBe(false);
    // The check does see a command that loads the engine.
    expect((await run(['run', '--help'])).pino).toBe(true);
  }, 30_000);
});
