import { z } from 'zod';

const SERVER_URL = /^((nats|tls):\/\/)?([^\s/@]+@)?[^\s/@:]+(:\d{1,5})?$/;

const NatsTlsSettingsSchema = z
  .strictObject({
    /** PEM file of the CA that signed the server's certificate (a self-signed or private CA). */
    ca: z.string().min(1).optional(),
    /** PEM client certificate, for servers that verify clients (`verify: true`); needs `key`. */
    cert: z.string().min(1).optional(),
    key: z.string().min(1).optional(),
  })
  .superRefine((tls, ctx) => {
    if ((tls.cert === undefined) !== (tls.key === undefined)) {
      ctx.addIssue({ code: 'custom', path: [tls.cert === undefined ? 'cert' : 'key'], message: 'a client certificate needs both `cert` and `key`' });
    }
  });

const NatsReconnectSettingsSchema = z.strictObject({
  /** First wait after the server is lost; doubles on every failed attempt up to `max_delay_ms`. */
  min_delay_ms: z.number().int().positive().default(250),
  max_delay_ms: z.number().int().positive().default(5_000),
  /** Attempts per server before giving up; -1 keeps trying for as long as the process runs. */
  max_attempts: z.number().int().min(-1).default(-1),
});

/**
 * The `nats:` section of tandem.config.yaml. Secrets (password, token, nkey seed) may sit here or
 * in the environment (natsSettingsFromEnv); they are never logged (see describeNatsSettings).
 */
export const NatsSettingsSchema = z
  .strictObject({
    servers: z.array(z.string().regex(SERVER_URL, 'must be nats://host:port or tls://host:port')).min(1).default(['nats://127.0.0.1:4222']),
    /** Shown by the server's monitoring (`connz`) for this client. */
    name: z.string().min(1).default('tandem'),
    user: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    token: z.string().min(1).optional(),
    /** A user nkey seed (`SU…`), or the path of a file holding one. */
    nkey_seed: z.string().min(1).optional(),
    /** A `.creds` file (JWT and nkey seed) as `nsc` writes it. */
    creds_file: z.string().min(1).optional(),
    tls: NatsTlsSettingsSchema.optional(),
    connect_timeout_ms: z.number().int().positive().default(5_000),
    reconnect: NatsReconnectSettingsSchema.default(NatsReconnectSettingsSchema.parse({})),
  })
  .superRefine((settings, ctx) => {
    const issue = (path: string, message: string): void => void ctx.addIssue({ code: 'custom', path: [path], message });
    if (settings.password !== undefined && settings.user === undefined) issue('user', 'a password needs a user');
    if (settings.user !== undefined && settings.password === undefined) issue('password', 'a user needs a password');
    const kinds = [
      settings.servers.some((server) => urlCredentials(server) !== undefined) ? 'credentials in servers' : undefined,
      settings.user !== undefined ? 'user' : undefined,
      settings.token !== undefined ? 'token' : undefined,
      settings.nkey_seed !== undefined ? 'nkey_seed' : undefined,
      settings.creds_file !== undefined ? 'creds_file' : undefined,
    ].filter((kind) => kind !== undefined);
    const second = kinds[1];
    if (second !== undefined) issue(second === 'credentials in servers' ? 'servers' : second, `use one way to log in, not ${kinds.join(' and ')}`);
  });
export type NatsSettings = z.infer<typeof NatsSettingsSchema>;
export type NatsSettingsInput = z.input<typeof NatsSettingsSchema>;

/**
 * The environment's share of the settings (the lead merges it over the config file):
 * NATS_URL (comma-separated servers), NATS_USER, NATS_PASSWORD, NATS_TOKEN, NATS_CREDS,
 * NATS_NKEY_SEED, NATS_CA, NATS_CERT, NATS_KEY. Empty variables count as unset.
 */
export function natsSettingsFromEnv(env: Readonly<Record<string, string | undefined>>): NatsSettingsInput {
  const value = (name: string): string | undefined => {
    const raw = env[name]?.trim();
    return raw === undefined || raw === '' ? undefined : raw;
  };
  const out: { -readonly [K in keyof NatsSettingsInput]: NatsSettingsInput[K] } = {};
  const url = value('NATS_URL');
  if (url !== undefined)
    out.servers = url
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  const plain = { user: 'NATS_USER', password: 'NATS_PASSWORD', token: 'NATS_TOKEN', creds_file: 'NATS_CREDS', nkey_seed: 'NATS_NKEY_SEED' } as const;
  for (const [field, name] of Object.entries(plain) as Array<[keyof typeof plain, string]>) {
    const v = value(name);
    if (v !== undefined) out[field] = v;
  }
  const tls = { ca: value('NATS_CA'), cert: value('NATS_CERT'), key: value('NATS_KEY') };
  if (tls.ca !== undefined || tls.cert !== undefined || tls.key !== undefined) {
    out.tls = Object.fromEntries(Object.entries(tls).filter(([, v]) => v !== undefined));
  }
  return out;
}

/** `nats://user:pass@host` or `nats://token@host`, as other NATS clients accept them (nats.js does not). */
export function urlCredentials(server: string): { user: string; password: string } | { token: string } | undefined {
  const match = /^(?:[a-z]+:\/\/)?([^\s/@]+)@/i.exec(server);
  const userinfo = match?.[1];
  if (userinfo === undefined) return undefined;
  const colon = userinfo.indexOf(':');
  const decode = (part: string): string => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part;
    }
  };
  return colon < 0 ? { token: decode(userinfo) } : { user: decode(userinfo.slice(0, colon)), password: decode(userinfo.slice(colon + 1)) };
}

/** A server URL fit for logs and errors: credentials in it (`nats://user:pass@host`) are cut out. */
export function redactNatsUrl(url: string): string {
  return url.replace(/^((?:[a-z]+:\/\/)?)[^\s/@]+@/i, '$1');
}

/** What the settings say, without any secret: for logs and `tandem status`. */
export function describeNatsSettings(settings: NatsSettings): { servers: string[]; name: string; auth: string; tls: string } {
  const auth =
    settings.user !== undefined
      ? `user ${settings.user} with a password`
      : settings.token !== undefined
        ? 'token'
        : settings.nkey_seed !== undefined
          ? 'nkey'
          : settings.creds_file !== undefined
            ? `creds file ${settings.creds_file}`
            : settings.servers.some((server) => urlCredentials(server) !== undefined)
              ? 'credentials in the server URL'
              : 'none';
  const tls =
    settings.tls === undefined
      ? 'when the server asks'
      : [settings.tls.ca && `ca ${settings.tls.ca}`, settings.tls.cert && `client cert ${settings.tls.cert}`].filter(Boolean).join(', ') || 'on';
  return { servers: settings.servers.map(redactNatsUrl), name: settings.name, auth, tls };
}
