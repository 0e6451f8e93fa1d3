import { readFile, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCodexCliRunner } from '../../src/runners/codex-cli.js';
import { fakeCli, runRequest, tempWorktree } from '../helpers/fake-model/e2e-kit.js';

/**
 * The `--version` probe of the CLI runners, with stand-in executables that count their calls in a
 * file: remembered per binary (real path and modification time), its timeout from the settings, and a
 * probe that times out tried again rather than taken as final.
 */

let dir: { dir: string; cleanup: () => Promise<void> };
beforeEach(async () => {
  dir = await tempWorktree('tandem-version-');
});
afterEach(async () => {
  await dir.cleanup();
});

const model = { provider: 'openai', model: 'gpt-5-codex', runner: 'codex-cli' };

/** A stand-in codex whose `--version` counts its calls, sleeps while the count is below `slowUntil`, then prints `version`. */
async function standIn(name: string, version: string, slowUntil = 0): Promise<{ command: string; probes: () => Promise<number> }> {
  const counter = path.join(dir.dir, `${name}.count`);
  const script = [
    `n=$(cat '${counter}' 2>/dev/null || echo 0); n=$((n+1)); echo $n > '${counter}'`,
    // `exec` so that the timeout's kill reaches the sleep itself.
    `if [ "$n" -lt ${slowUntil} ]; then exec sleep 30; fi`,
    `echo 'codex-cli ${version}'`,
  ].join('\n');
  const command = await fakeCli(dir.dir, name, script);
  return { command, probes: async () => Number((await readFile(counter, 'utf8').catch(() => '0')).trim()) };
}

describe('the --version probe of a CLI runner', () => {
  it('is asked once per binary, by every runner of the process, and again when the binary changes', async () => {
    const cli = await standIn('codex', '0.169.0');
    const first = createCodexCliRunner({ command: cli.command });
    expect(await first.version()).toMatchObject({ ok: true, version: '0.169.0', command: cli.command });
    expect(await first.version()).toMatchObject({ ok: true, version: '0.169.0' });
    // Another runner (another task's, or `doctor`'s) of the same binary uses what was found.
    expect(await createCodexCliRunner({ command: cli.command, config_home: 'isolated' }).version()).toMatchObject({ ok: true, version: '0.169.0' });
    expect(await cli.probes()).toBe(1);

    // Upgraded in place: a new modification time, a new probe.
    await writeFile(cli.command, (await readFile(cli.command, 'utf8')).replace('0.169.0', '0.170.0'));
    const later = new Date(Date.now() + 60_000);
    await utimes(cli.command, later, later);
    expect(await first.version()).toMatchObject({ ok: true, version: '0.170.0' });
    expect(await cli.probes()).toBe(2);
  });

  it('tries a probe that timed out again (version_timeout_ms), and takes the answer of a later try', async () => {
    const cli = await standIn('codex', '0.169.0', 3);
    const runner = createCodexCliRunner({ command: cli.command, version_timeout_ms: 1_000 });
    expect(await runner.version()).toMatchObject({ ok: true, version: '0.169.0' });
    expect(await cli.probes()).toBe(3);
  });

  it('gives up after three tries, as a timeout of the call (tried again later), never as an unavailable CLI, and remembers no failure', async () => {
    const cli = await standIn('codex', '0.169.0', 100);
    const runner = createCodexCliRunner({ command: cli.command, version_timeout_ms: 500 });
    const result = await runner.run(runRequest({ role: 'planner', model, cwd: dir.dir }), { signal: new AbortController().signal });
    expect(result).toMatchObject({ success: false, error_kind: 'timeout', tokens_input: 0, cost_usd: 0 });
    expect(result.error).toBe(`codex-cli: ${cli.command} --version did not answer within 500 ms in 3 tries`);
    expect(await cli.probes()).toBe(3);
    // The next call probes again.
    expect(await runner.version()).toMatchObject({ ok: false, reason: 'timeout' });
    expect(await cli.probes()).toBe(6);
  });
});
