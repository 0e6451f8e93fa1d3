import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openKvStore } from '../../src/store/kv-store.js';
import { connectNats, type NatsConnection } from '../../src/bus/nats-connection.js';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { describeStoreConformance } from '../../src/testing/store-conformance.js';

let server: NatsServer;
let connection: NatsConnection;
let buckets = 0;

beforeAll(async () => {
  server = await startNatsServer();
  connection = await connectNats({ servers: [server.url] });
});

afterAll(async () => {
  await connection?.close();
  await server?.cleanup();
});

/** A fresh bucket per test: KV revisions are one sequence per bucket. */
describeStoreConformance('NATS KV store', async () => {
  const bucket = `conformance-${++buckets}`;
  const store = await openKvStore({ connection, bucket });
  return {
    store,
    cleanup: async () => {
      await store.close();
      const jsm = await jetstreamManager(connection);
      await jsm.streams.delete(`KV_${bucket}`);
    },
  };
});

describe('NATS KV store list', () => {
  it('leaves no consumer behind on the server', async () => {
    const store = await openKvStore({ connection, bucket: 'listing' });
    await store.put('tasks.A', 1);
    await store.put('tasks.B.x', 2);
    for (let i = 0; i < 5; i++) expect((await store.list('tasks')).map((e) => e.key)).toEqual(['tasks.A', 'tasks.B.x']);
    const jsm = await jetstreamManager(connection);
    const info = await jsm.streams.info('KV_listing');
    expect(info.state.consumer_count).toBe(0);
    await store.close();
  });
});
