import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isSafeVariable, safeEnv } from '../../../src/platform/process/safe-env.js';
import { runCheck } from '../../../src/gate/run-check.js';
import { GateCheckConfigSchema, GateConfigSchema } from '../../../src/gate/gate-options.js';
import { resolveGateSettings } from '../../../src/gate/gate-settings.js';

const SECRETS = {
  ANTHROPIC_API_KEY: 'sk-ant-secret',
  GEMINI_API_KEY: 'gem-secret',
  GOOGLE_APPLICATION_CREDENTIALS: '/secret/google.json',
  OPENAI_API_KEY: 'sk-openai-secret',
  NATS_PASSWORD: 'nats-secret',
  NATS_CREDS: '/secret/nats.creds',
  GITHUB_TOKEN: 'ghp-secret',
  SOME_SERVICE_API_KEY: 'other-secret',
  TELEGRAM_BOT_TOKEN: 'tg-secret',
};

afterEach(() => vi.unstubAllEnvs());

describe('safeEnv', () => {
  it('keeps what builds need and drops model keys and credentials, even those matching an allowed prefix', () => {
    const env = safeEnv({ PATH: '/bin', HOME: '/h', LC_ALL: 'C', XDG_CACHE_HOME: '/c', XDG_SECRET_TOKEN: 'x', ...SECRETS, RANDOM_VAR: 'r' });
    expect(env).toEqual({ PATH: '/bin', HOME: '/h', LC_ALL: 'C', XDG_CACHE_HOME: '/c' });
    expect(Object.keys(SECRETS).filter(isSafeVariable)).toEqual([]);
  });

  it('passes variables a person named in gate.env_allow', () => {
    expect(safeEnv({ PATH: '/bin', NPM_TOKEN: 't', RANDOM_VAR: 'r' }, ['NPM_TOKEN', 'RANDOM_VAR'])).toEqual({ PATH: '/bin', NPM_TOKEN: 't', RANDOM_VAR: 'r' });
  });
});

describe('a gate check', () => {
  it("cannot see the service's model keys or bus credentials (a real check that prints its environment)", async () => {
    for (const [name, value] of Object.entries({ ...SECRETS, PROJECT_SETTING: 'visible' })) vi.stubEnv(name, value);
    const check = GateCheckConfigSchema.parse({ name: 'print-env', command: 'env' });
    const run = await runCheck(check, { cwd: tmpdir(), signal: new AbortController().signal, envAllow: ['PROJECT_SETTING'] });
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/^PATH=/m);
    expect(run.stdout).toMatch(/^CI=true$/m);
    expect(run.stdout).toMatch(/^PROJECT_SETTING=visible$/m);
    for (const [name, value] of Object.entries(SECRETS)) {
      expect(run.stdout).not.toContain(name);
      expect(run.stdout).not.toContain(value);
    }
  });

  it("takes env_allow from the service's config only, never from a repository's quality file", async () => {
    const repo = await mkdtemp(join(tmpdir(), 'tandem-env-'));
    try {
      const { mkdir, writeFile } = await import('node:fs/promises');
      await mkdir(join(repo, '.tandem'));
      await writeFile(join(repo, '.tandem', 'quality.yaml'), 'env_allow: [ANTHROPIC_API_KEY]\nchecks:\n  - name: t\n    command: "true"\n');
      const resolved = await resolveGateSettings(GateConfigSchema.parse({ env_allow: ['NPM_TOKEN'] }), repo);
      expect(resolved.settings.env_allow).toEqual(['NPM_TOKEN']);
    } finally {
      await rm(repo, { recursive: true, force: true });
    }
  });
});
