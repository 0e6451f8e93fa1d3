import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNatsBus } from '../../src/bus/nats-bus.js';
import { connectNats, type NatsConnection } from '../../src/bus/nats-connection.js';
import type { NatsSettingsInput } from '../../src/bus/nats-settings.js';
import { subject } from '../../src/bus/subjects.js';
import { InputError, StoreError } from '../../src/platform/errors.js';
import { abortMessage } from '../../src/testing/bus-conformance.js';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';

/** Connects, proves the connection carries messages through the bus, and closes it. */
async function roundTrip(settings: NatsSettingsInput): Promise<string[]> {
  const connection = await connectNats(settings);
  try {
    const bus = createNatsBus({ connection });
    const control = subject({ kind: 'control', taskId: 'T1' });
    const got: string[] = [];
    bus.subscribe(control, (message) => void got.push(message.type));
    await bus.publish(control, abortMessage('T1'));
    await bus.flush();
    await bus.close();
    return got;
  } finally {
    await connection.close();
  }
}

async function failure(settings: NatsSettingsInput): Promise<unknown> {
  return connectNats(settings).then(
    async (connection: NatsConnection) => {
      await connection.close();
      return undefined;
    },
    (error: unknown) => error,
  );
}

describe('connectNats against a server with user and password', () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startNatsServer({ auth: { user: 'tandem', password: 's3cret-pass' } });
  });
  afterAll(() => server?.cleanup());

  it('connects with the right user and password', async () => {
    expect(await roundTrip({ servers: [server.url], user: 'tandem', password: 's3cret-pass' })).toEqual(['task.abort']);
  });

  it('refuses a wrong password with an InputError naming the setting and the server, without the password', async () => {
    const error = await failure({ servers: [server.url], user: 'tandem', password: 'wrong' });
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toBe(
      `NATS settings: nats.password: the NATS server at ${server.url} refused the credentials (Authorization Violation)`,
    );
  });

  it('says the server wants credentials when none are set', async () => {
    const error = await failure({ servers: [server.url] });
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toBe(
      `NATS settings: nats: the NATS server at ${server.url} requires credentials (Authorization Violation): set user and password, token, nkey_seed or creds_file`,
    );
  });

  it('takes credentials from the URL, and names the server without them', async () => {
    const withCredentials = server.url.replace('nats://', 'nats://tandem:wrong@');
    const error = await failure({ servers: [withCredentials] });
    expect((error as Error).message).toBe(
      `NATS settings: nats.servers: the NATS server at ${server.url} refused the credentials in its URL (Authorization Violation)`,
    );
    expect(await roundTrip({ servers: [server.url.replace('nats://', 'nats://tandem:s3cret%2Dpass@')] })).toEqual(['task.abort']);
  });
});

describe('connectNats against a server with a token', () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startNatsServer({ auth: { token: 'the-token' } });
  });
  afterAll(() => server?.cleanup());

  it('connects with the right token and refuses a wrong one', async () => {
    expect(await roundTrip({ servers: [server.url], token: 'the-token' })).toEqual(['task.abort']);
    const error = await failure({ servers: [server.url], token: 'not-the-token' });
    expect((error as Error).message).toBe(`NATS settings: nats.token: the NATS server at ${server.url} refused the credentials (Authorization Violation)`);
  });
});

describe('connectNats against a TLS server', () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startNatsServer({ tls: {} });
  });
  afterAll(() => server?.cleanup());

  it('connects when it trusts the server certificate through tls.ca', async () => {
    expect(await roundTrip({ servers: [server.url], tls: { ca: server.tls?.ca } })).toEqual(['task.abort']);
  });

  it('refuses a server whose certificate no trusted CA signed, naming tls.ca', async () => {
    const error = await failure({ servers: [server.url] });
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toBe(
      `NATS settings: nats.tls.ca: TLS with the NATS server at ${server.url} failed: unable to verify the first certificate`,
    );
    const otherCa = await failure({ servers: [server.url], tls: { ca: server.tls?.otherCa } });
    expect((otherCa as Error).message).toBe(
      `NATS settings: nats.tls: TLS with the NATS server at ${server.url} failed: unable to verify the first certificate`,
    );
  });

  it('names a CA file it cannot read', async () => {
    const error = await failure({ servers: [server.url], tls: { ca: `${server.dir}/missing.pem` } });
    expect((error as Error).message).toBe(
      `NATS settings: nats.tls.ca: cannot read ${server.dir}/missing.pem: ENOENT: no such file or directory, open '${server.dir}/missing.pem'`,
    );
  });
});

describe('connectNats against a TLS server that verifies clients', () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startNatsServer({ tls: { verifyClients: true } });
  });
  afterAll(() => server?.cleanup());

  it('connects with a client certificate signed by its CA', async () => {
    const tls = { ca: server.tls?.ca, cert: server.tls?.clientCert, key: server.tls?.clientKey };
    expect(await roundTrip({ servers: [server.url], tls })).toEqual(['task.abort']);
  });

  it('says a client certificate is needed when none is set', async () => {
    const error = await failure({ servers: [server.url], tls: { ca: server.tls?.ca }, connect_timeout_ms: 1_000 });
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toBe(
      `NATS settings: nats.tls.cert: the NATS server at ${server.url} requires a client certificate: set tls.cert and tls.key`,
    );
  });
});

describe('connectNats when no server answers', () => {
  it('fails with a retryable StoreError("unavailable") naming the server', async () => {
    const server = await startNatsServer();
    await server.cleanup();
    const error = await failure({ servers: [server.url] });
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject({ code: 'unavailable', retryable: true, message: `cannot reach the NATS server at ${server.url}: connection refused` });
  });

  it('refuses settings that mix two ways to log in, before dialing', async () => {
    const error = await failure({ servers: ['nats://127.0.0.1:1'], user: 'u', password: 'p', token: 't' });
    expect((error as Error).message).toBe('NATS settings: nats.token: use one way to log in, not user and token');
  });
});
