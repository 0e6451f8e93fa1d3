import { readFile } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { AuthorizationError, credsAuthenticator, nkeyAuthenticator, TimeoutError } from '@nats-io/nats-core';
import type { Authenticator, NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import type { NodeConnectionOptions } from '@nats-io/transport-node';
import { errorMessage, InputError, StoreError } from '../platform/errors.js';
import { NatsSettingsSchema, redactNatsUrl, urlCredentials, type NatsSettings, type NatsSettingsInput } from './nats-settings.js';

export type { NatsConnection } from '@nats-io/nats-core';

type NodeTlsOptions = NonNullable<NodeConnectionOptions['tls']>;

/** The part of a pino logger the connection uses. */
export interface NatsLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface ConnectNatsOptions {
  /** Where the settings came from, for errors: `tandem.config.yaml`, `environment` … */
  readonly source?: string;
  /** Disconnects, reconnects and server errors are logged here (warn/info) for the life of the connection. */
  readonly logger?: NatsLogger;
}

const NKEY_SEED = /^SU[A-Z2-7]{56}$/;
const PROBE_TIMEOUT_MS = 2_000;

/**
 * Connects with the settings and keeps the connection alive: after a lost server it reconnects with
 * exponential backoff and jitter, forever by default (a service should outlive a NATS restart).
 *
 * The first connection fails fast with an error naming the server(s): StoreError('unavailable')
 * when nothing answers (retrying may help), InputError naming the setting when the server refuses
 * the credentials or TLS fails (retrying will not help until the settings change).
 */
export async function connectNats(settingsInput: NatsSettingsInput, options: ConnectNatsOptions = {}): Promise<NatsConnection> {
  const source = options.source ?? 'NATS settings';
  const parsed = NatsSettingsSchema.safeParse(settingsInput);
  if (!parsed.success) {
    throw new InputError(parsed.error.issues.map((issue) => ({ file: source, field: ['nats', ...issue.path.map(String)].join('.'), message: issue.message })));
  }
  const settings = parsed.data;
  const servers = settings.servers.map(redactNatsUrl).join(', ');
  const natsOptions = await buildOptions(settings, source);
  let connection: NatsConnection;
  try {
    connection = await connect(natsOptions);
  } catch (error) {
    throw await explainConnectError(error, settings, servers, source);
  }
  if (options.logger) watchStatus(connection, options.logger);
  return connection;
}

async function buildOptions(settings: NatsSettings, source: string): Promise<NodeConnectionOptions> {
  const readSetting = async (field: string, path: string): Promise<string> => {
    try {
      return await readFile(path, 'utf8');
    } catch (error) {
      throw new InputError([{ file: source, field: `nats.${field}`, message: `cannot read ${path}: ${errorMessage(error)}` }], { cause: error });
    }
  };

  const authenticator: Authenticator[] = [];
  if (settings.creds_file !== undefined) {
    authenticator.push(credsAuthenticator(new TextEncoder().encode(await readSetting('creds_file', settings.creds_file))));
  }
  if (settings.nkey_seed !== undefined) {
    const seed = NKEY_SEED.test(settings.nkey_seed) ? settings.nkey_seed : (await readSetting('nkey_seed', settings.nkey_seed)).trim();
    if (!NKEY_SEED.test(seed)) {
      throw new InputError([{ file: source, field: 'nats.nkey_seed', message: 'is neither a user nkey seed (SU…) nor a file holding one' }]);
    }
    authenticator.push(nkeyAuthenticator(new TextEncoder().encode(seed)));
  }

  let tls: NodeTlsOptions | undefined;
  if (settings.tls !== undefined) {
    tls = {};
    // Read here, not by the client: a missing file then names its setting instead of failing the handshake.
    if (settings.tls.ca !== undefined) tls.ca = await readSetting('tls.ca', settings.tls.ca);
    if (settings.tls.cert !== undefined) tls.cert = await readSetting('tls.cert', settings.tls.cert);
    if (settings.tls.key !== undefined) tls.key = await readSetting('tls.key', settings.tls.key);
  }

  const fromUrl = settings.servers.map(urlCredentials).find((credentials) => credentials !== undefined);
  return {
    servers: settings.servers.map(redactNatsUrl),
    ...(fromUrl === undefined ? {} : 'token' in fromUrl ? { token: fromUrl.token } : { user: fromUrl.user, pass: fromUrl.password }),
    name: settings.name,
    timeout: settings.connect_timeout_ms,
    maxReconnectAttempts: settings.reconnect.max_attempts,
    reconnectDelayHandler: backoff(settings.reconnect.min_delay_ms, settings.reconnect.max_delay_ms),
    ...(settings.user !== undefined ? { user: settings.user, pass: settings.password } : {}),
    ...(settings.token !== undefined ? { token: settings.token } : {}),
    ...(authenticator.length > 0 ? { authenticator } : {}),
    ...(tls !== undefined ? { tls } : {}),
  };
}

/**
 * The client asks for the next delay before every attempt; the delay doubles up to the ceiling and
 * falls back to the floor once attempts come quickly again (a new outage, after a reconnect).
 */
function backoff(minMs: number, maxMs: number): () => number {
  let attempt = 0;
  let last = 0;
  return () => {
    const now = Date.now();
    if (now - last > maxMs * 4) attempt = 0;
    last = now;
    const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
    attempt++;
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  };
}

function watchStatus(connection: NatsConnection, logger: NatsLogger): void {
  void (async () => {
    for await (const status of connection.status()) {
      switch (status.type) {
        case 'disconnect':
          logger.warn({ server: redactNatsUrl(status.server) }, 'lost the NATS server; reconnecting');
          break;
        case 'reconnect':
          logger.info({ server: redactNatsUrl(status.server) }, 'reconnected to the NATS server');
          break;
        case 'ldm':
          logger.info({ server: redactNatsUrl(status.server) }, 'the NATS server is shutting down (lame duck mode); moving to another');
          break;
        case 'error':
          logger.warn({ error: status.error.message }, 'the NATS server reported an error');
          break;
        default:
          break;
      }
    }
  })().catch((error: unknown) => logger.error({ error: errorMessage(error) }, 'watching the NATS connection failed'));
  void connection.closed().then((error) => {
    if (error) logger.error({ error: error.message }, 'the NATS connection closed for good');
  });
}

const TLS_CODE = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|HOSTNAME|ALTNAME/i;

async function explainConnectError(error: unknown, settings: NatsSettings, servers: string, source: string): Promise<Error> {
  const detail = errorMessage(error);
  const refused = (field: string, message: string): InputError => new InputError([{ file: source, field, message }], { cause: error });
  if (error instanceof AuthorizationError) {
    const field =
      settings.user !== undefined
        ? 'nats.password'
        : settings.token !== undefined
          ? 'nats.token'
          : settings.nkey_seed !== undefined
            ? 'nats.nkey_seed'
            : settings.creds_file !== undefined
              ? 'nats.creds_file'
              : undefined;
    if (field === undefined && settings.servers.some((server) => server !== redactNatsUrl(server))) {
      return refused('nats.servers', `the NATS server at ${servers} refused the credentials in its URL (${detail})`);
    }
    if (field === undefined) {
      return refused('nats', `the NATS server at ${servers} requires credentials (${detail}): set user and password, token, nkey_seed or creds_file`);
    }
    return refused(field, `the NATS server at ${servers} refused the credentials (${detail})`);
  }
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
  if (TLS_CODE.test(code) || /\btls\b/i.test(detail)) {
    const field = settings.tls?.ca === undefined ? 'nats.tls.ca' : 'nats.tls';
    return refused(field, `TLS with the NATS server at ${servers} failed: ${detail}`);
  }
  if (error instanceof TimeoutError) {
    // A server that verifies client certificates drops a client without one after the TLS 1.3
    // handshake, which the client only sees as a timeout; the server's INFO line says why.
    const info = await probeInfo(settings.servers[0]);
    if (info?.tls_verify === true && settings.tls?.cert === undefined) {
      return refused('nats.tls.cert', `the NATS server at ${servers} requires a client certificate: set tls.cert and tls.key`);
    }
    return new StoreError('unavailable', `the NATS server at ${servers} did not answer within ${settings.connect_timeout_ms} ms`, { cause: error });
  }
  return new StoreError('unavailable', `cannot reach the NATS server at ${servers}: ${detail}`, { cause: error });
}

interface ServerInfo {
  readonly tls_required?: boolean;
  readonly tls_verify?: boolean;
  readonly auth_required?: boolean;
}

/** Reads the plain-text INFO line every server sends first; undefined when that fails. */
function probeInfo(server: string | undefined): Promise<ServerInfo | undefined> {
  if (server === undefined) return Promise.resolve(undefined);
  let url: URL;
  try {
    url = new URL(/^[a-z]+:\/\//i.test(server) ? server : `nats://${server}`);
  } catch {
    return Promise.resolve(undefined);
  }
  return new Promise((resolve) => {
    let buffer = '';
    const socket = netConnect({ host: url.hostname, port: Number(url.port || 4222) });
    const finish = (info: ServerInfo | undefined): void => {
      socket.destroy();
      resolve(info);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => finish(undefined));
    socket.on('error', () => finish(undefined));
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const end = buffer.indexOf('\r\n');
      if (end < 0) return;
      const match = /^INFO\s+(\{.*\})$/.exec(buffer.slice(0, end).trim());
      try {
        finish(match?.[1] === undefined ? undefined : (JSON.parse(match[1]) as ServerInfo));
      } catch {
        finish(undefined);
      }
    });
  });
}
