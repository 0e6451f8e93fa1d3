import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { ModelRef } from '../../src/model/execution.js';
import { runnerSettingsFrom } from '../../src/runners/registry.js';
import { checkRunners, registerDoctorCommand } from '../../src/cli/doctor.js';
import type { CliIO, ExitCode } from '../../src/cli/io.js';
import { cliBin, fakeCli, repoRoot } from '../helpers/fake-model/e2e-kit.js';
import { startFakeModelServer, type FakeModelServer } from '../helpers/fake-model-server.js';

let server: FakeModelServer;
let dir: string;

beforeAll(async () => {
  server = await startFakeModelServer({ scenario: { kind: 'text', text: 'ok' } });
  dir = await mkdtemp(path.join(tmpdir(), 'tandem-doctor-test-'));
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const roles: Record<string, ModelRef> = {
  planner: { provider: 'anthropic', model: 'claude-sonnet-4-5', runner: 'claude-code' },
  'plan-reviewer': { provider: 'google', model: 'gemini-2.5-flash', runner: 'gemini-cli' },
  implementer: { provider: 'openai', model: 'gpt-5-codex', runner: 'codex-cli' },
  'code-reviewer': { provider: 'ollama', model: 'qwen3:4b', runner: 'ollama' },
};

function settings(overrides: Record<string, unknown> = {}) {
  const common = { config_home: 'isolated', max_retries: 0 };
  return runnerSettingsFrom({
    'claude-code': { ...common, command: cliBin.claude, base_url: server.url, env: { ANTHROPIC_API_KEY: 'sk-fake' } },
    'gemini-cli': { ...common, command: cliBin.gemini, base_url: server.url, env: { GEMINI_API_KEY: 'fake' } },
    'codex-cli': { ...common, command: cliBin.codex, base_url: `${server.url}/v1`, env_key: 'FAKE_OPENAI_API_KEY', env: { FAKE_OPENAI_API_KEY: 'sk-fake' } },
    ollama: { host: server.url },
    ...overrides,
  });
}

const io = () => ({ env: process.env, cwd: repoRoot, signal: new AbortController().signal });

describe('tandem doctor against the real CLIs', () => {
  it('finds every runner, its tested version, and makes a one-token call', async () => {
    const checks = await checkRunners({ roles, override: undefined, settings: settings(), io: io(), offline: false });
    expect(checks.map((c) => [c.runner, c.binary, c.version, c.tested, c.call.status, c.problems])).toEqual([
      ['claude-code', cliBin.claude, '2.1.330', true, 'ok', []],
      ['gemini-cli', cliBin.gemini, '0.61.0', true, 'ok', []],
      ['codex-cli', cliBin.codex, '0.169.0', true, 'ok', []],
      ['ollama', server.url, '0.12.0', null, 'ok', []],
    ]);
    expect(checks[0]?.call.detail).toBe('100 in / 20 out tokens');
  });

  it('reports a missing binary and an untested version, and skips calls offline', async () => {
    const old = await fakeCli(dir, 'old-claude', `echo '1.0.0 (Claude Code)'`);
    const checks = await checkRunners({
      roles: { planner: roles.planner as ModelRef, implementer: roles.implementer as ModelRef },
      override: undefined,
      settings: settings({ 'claude-code': { command: old }, 'codex-cli': { command: 'codex-missing-here' } }),
      io: io(),
      offline: true,
    });
    expect(checks).toEqual([
      expect.objectContaining({
        runner: 'claude-code',
        binary: old,
        version: '1.0.0',
        tested: false,
        call: { status: 'skipped', detail: '--offline' },
        problems: ['version 1.0.0 was not tested with tandem (tested: 2.1.330)'],
      }),
      expect.objectContaining({
        runner: 'codex-cli',
        binary: null,
        version: null,
        // doctor names the PATH folders it searched.
        problems: [
          expect.stringMatching(
            /^codex-missing-here was not found \(looked in PATH: [^)]+\); install it \(tested: 0\.169\.0\) or set runners\.codex-cli\.command$/,
          ),
        ],
      }),
    ]);
  });

  it('runs as `tandem doctor --offline --json` over the default config, finding the CLIs on PATH', async () => {
    let out = '';
    let code: ExitCode | undefined;
    const cliIo: CliIO = {
      cwd: dir,
      env: { ...process.env, PATH: `${path.join(repoRoot, 'node_modules/.bin')}${path.delimiter}${process.env.PATH ?? ''}` },
      stdout: { write: (text: string) => void (out += text) },
      stderr: { write: () => undefined },
      signal: new AbortController().signal,
    };
    const program = new Command().exitOverride();
    registerDoctorCommand(program, cliIo, (c) => (code = c));
    await program.parseAsync(['doctor', '--offline', '--json'], { from: 'user' });
    const checks = JSON.parse(out) as { runner: string; version: string; tested: boolean; roles: string[] }[];
    expect(checks.map((c) => [c.runner, c.version, c.tested, c.roles])).toEqual([
      ['claude-code', '2.1.330', true, ['planner', 'code-reviewer', 'validator']],
      ['gemini-cli', '0.61.0', true, ['plan-reviewer']],
      ['codex-cli', '0.169.0', true, ['implementer']],
    ]);
    expect(code).toBe(0);
  });

  it('fails (exit 1) when a one-token call is refused, with a table row and the problem named per runner', async () => {
    const expired = await startFakeModelServer({ scenario: { kind: 'error', status: 401, message: 'OAuth token has expired' } });
    const cwd = await mkdtemp(path.join(tmpdir(), 'tandem-doctor-401-'));
    try {
      const common = { config_home: 'isolated', max_retries: 0 };
      await writeFile(
        path.join(cwd, 'tandem.config.yaml'),
        stringify({
          roles: { planner: roles.planner, implementer: roles.implementer },
          runners: {
            'claude-code': { ...common, command: cliBin.claude, base_url: expired.url, env: { ANTHROPIC_API_KEY: 'sk-expired' } },
            'gemini-cli': { ...common, command: cliBin.gemini, base_url: server.url, env: { GEMINI_API_KEY: 'fake' } },
            'codex-cli': {
              ...common,
              command: cliBin.codex,
              base_url: `${server.url}/v1`,
              env_key: 'FAKE_OPENAI_API_KEY',
              env: { FAKE_OPENAI_API_KEY: 'sk-fake' },
            },
          },
        }),
      );
      let out = '';
      let code: ExitCode | undefined;
      const program = new Command().exitOverride();
      registerDoctorCommand(
        program,
        { cwd, env: process.env, stdout: { write: (t: string) => void (out += t) }, stderr: { write: () => undefined }, signal: new AbortController().signal },
        (c) => (code = c),
      );
      await program.parseAsync(['doctor'], { from: 'user' });
      expect(code, out).toBe(1);
      const lines = out.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^RUNNER +ROLES +BINARY +VERSION +TESTED +CALL$/);
      expect(lines[1]).toMatch(/^claude-code +planner,code-reviewer,validator +\S+\/claude +2\.1\.330 +yes +failed$/);
      expect(lines[2]).toMatch(/^gemini-cli +plan-reviewer +\S+\/gemini +0\.61\.0 +yes +ok \(\d+ ms\)$/);
      expect(lines[3]).toMatch(/^codex-cli +implementer +\S+\/codex +0\.169\.0 +yes +ok \(\d+ ms\)$/);
      // One problem line, for the runner that failed, saying why.
      expect(lines.slice(4)).toEqual([
        expect.stringMatching(/^claude-code: the one-token call failed: auth: claude-code: API error 401 .*OAuth token has expired/),
      ]);
    } finally {
      await expired.close();
      await rm(cwd, { recursive: true, force: true });
    }
  });
});
