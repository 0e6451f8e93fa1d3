import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll } from 'vitest';
import { connectNats, type NatsConnection } from '../../src/bus/nats-connection.js';
import { openNatsWorkQueue } from '../../src/queue/nats-work-queue.js';
import type { WorkQueue, WorkQueueSpecInput } from '../../src/queue/work-queue.js';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { describeWorkQueueConformance } from '../../src/testing/work-queue-conformance.js';

let server: NatsServer;
let streams = 0;

beforeAll(async () => {
  server = await startNatsServer();
});

afterAll(async () => {
  await server?.cleanup();
});

const connect = (): Promise<NatsConnection> => connectNats({ servers: [server.url], reconnect: { min_delay_ms: 50, max_delay_ms: 200 } });

describeWorkQueueConformance('NATS work queue', async (specInput: WorkQueueSpecInput) => {
  const spec = { ...specInput, stream: `${specInput.stream}_${++streams}` };
  const connections: NatsConnection[] = [];
  const clients = new Map<WorkQueue, NatsConnection>();
  const open = async (): Promise<WorkQueue> => {
    const connection = await connect();
    connections.push(connection);
    const queue = await openNatsWorkQueue({ connection, spec, pullExpiresMs: 1_000 });
    clients.set(queue, connection);
    return queue;
  };
  const queue = await open();
  const main = connections[0] as NatsConnection;
  return {
    queue,
    peer: open,
    kill: async (peer) => {
      const connection = clients.get(peer);
      if (connection === undefined) throw new Error('not a peer of this queue');
      clients.delete(peer);
      await connection.close();
    },
    injectRaw: async (subject, data) => {
      await jetstream(main).publish(subject, data);
    },
    cleanup: async () => {
      await Promise.all([...clients.keys()].map((client) => client.close()));
      const jsm = await jetstreamManager(main);
      await jsm.streams.delete(spec.stream);
      await jsm.streams.delete(`${spec.stream}_DEAD`);
      await Promise.all(connections.map((c) => c.close()));
    },
  };
});
