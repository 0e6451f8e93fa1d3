import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { lazyCommands, runCli } from '../../src/cli/main.js';

/** Commands are loaded lazily: the listing of `--help` must match the commands themselves. */
describe('lazy commands', () => {
  it("each listed name, arguments and description are the command's own", async () => {
    const io = { cwd: '/', env: {}, stdout: { write: () => undefined }, stderr: { write: () => undefined }, signal: new AbortController().signal };
    for (const lazy of lazyCommands) {
      const program = new Command();
      (await lazy.load())(program, io, () => undefined);
      const real = program.commands.find((c) => c.name() === lazy.name);
      expect(real?.description(), lazy.name).toBe(lazy.description);
      expect(
        real?.registeredArguments.map((a) => (a.required ? `<${a.name()}${a.variadic ? '...' : ''}>` : `[${a.name()}${a.variadic ? '...' : ''}]`)).join(' ') ??
          '',
        lazy.name,
      ).toBe(lazy.args);
    }
  });

  it('runs the named command in-process', async () => {
    let out = '';
    const code = await runCli(['completion', 'fish'], {
      cwd: '/',
      env: {},
      stdout: { write: (t: string) => void (out += t) },
      stderr: { write: () => undefined },
      signal: new AbortController().signal,
    });
    expect(code).toBe(0);
    expect(out.split('\n')[1]).toBe('complete -c tandem -f');
  });
});
