import { describe, expect, it } from 'vitest';
import { describeNatsSettings, NatsSettingsSchema, natsSettingsFromEnv, redactNatsUrl } from '../../src/bus/nats-settings.js';

describe('natsSettingsFromEnv', () => {
  it('maps every NATS_* variable to its setting and splits NATS_URL on commas', () => {
    expect(
      natsSettingsFromEnv({
        NATS_URL: 'nats://a:4222, tls://b:4222',
        NATS_USER: 'tandem',
        NATS_PASSWORD: 'pw',
        NATS_TOKEN: 'tok',
        NATS_CREDS: '/etc/nats/tandem.creds',
        NATS_NKEY_SEED: '/etc/nats/seed.nk',
        NATS_CA: '/ca.pem',
        NATS_CERT: '/cert.pem',
        NATS_KEY: '/key.pem',
        HOME: '/root',
      }),
    ).toEqual({
      servers: ['nats://a:4222', 'tls://b:4222'],
      user: 'tandem',
      password: 'pw',
      token: 'tok',
      creds_file: '/etc/nats/tandem.creds',
      nkey_seed: '/etc/nats/seed.nk',
      tls: { ca: '/ca.pem', cert: '/cert.pem', key: '/key.pem' },
    });
  });

  it('ignores unset and empty variables', () => {
    expect(natsSettingsFromEnv({ NATS_URL: '', NATS_CA: '  ', NATS_TOKEN: undefined })).toEqual({});
    expect(natsSettingsFromEnv({ NATS_CA: '/ca.pem' })).toEqual({ tls: { ca: '/ca.pem' } });
  });
});

describe('NatsSettingsSchema', () => {
  it('fills in the defaults', () => {
    expect(NatsSettingsSchema.parse({})).toEqual({
      servers: ['nats://127.0.0.1:4222'],
      name: 'tandem',
      connect_timeout_ms: 5_000,
      reconnect: { min_delay_ms: 250, max_delay_ms: 5_000, max_attempts: -1 },
    });
  });

  it.each([
    [{ password: 'p' }, 'user', 'a password needs a user'],
    [{ user: 'u' }, 'password', 'a user needs a password'],
    [{ token: 't', creds_file: '/c' }, 'creds_file', 'use one way to log in, not token and creds_file'],
    [{ servers: ['nats://u:p@h:4222'], token: 't' }, 'token', 'use one way to log in, not credentials in servers and token'],
    [{ servers: ['http://h:4222'] }, 'servers.0', 'must be nats://host:port or tls://host:port'],
    [{ tls: { cert: '/c.pem' } }, 'tls.key', 'a client certificate needs both `cert` and `key`'],
  ])('refuses %j at %s', (input, path, message) => {
    const result = NatsSettingsSchema.safeParse(input);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([[path, message]]);
  });
});

describe('redactNatsUrl and describeNatsSettings', () => {
  it('cuts credentials out of server URLs', () => {
    expect(redactNatsUrl('nats://user:secret@host:4222')).toBe('nats://host:4222');
    expect(redactNatsUrl('token@host:4222')).toBe('host:4222');
    expect(redactNatsUrl('tls://host:4222')).toBe('tls://host:4222');
  });

  it('describes the settings without any secret', () => {
    const settings = NatsSettingsSchema.parse({ servers: ['nats://u:secret@host:4222'], tls: { ca: '/ca.pem' } });
    const described = describeNatsSettings(settings);
    expect(described).toEqual({ servers: ['nats://host:4222'], name: 'tandem', auth: 'credentials in the server URL', tls: 'ca /ca.pem' });
    expect(JSON.stringify(describeNatsSettings(NatsSettingsSchema.parse({ user: 'u', password: 'secret', token: undefined })))).not.toContain('secret');
  });
});
