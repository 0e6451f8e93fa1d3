import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openKvStore } from '../../src/store/kv-store.js';
import type { BusMessage } from '../../src/model/task-events.js';
import { createNatsBus } from '../../src/bus/nats-bus.js';
import { connectNats, type NatsConnection, type NatsLogger } from '../../src/bus/nats-connection.js';
import { openNatsWorkQueue } from '../../src/queue/nats-work-queue.js';
import { subject } from '../../src/bus/subjects.js';
import { submissionsQueue } from '../../src/queue/work-queue.js';
import { StoreError } from '../../src/platform/errors.js';
import { abortMessage, submitMessage } from '../../src/testing/bus-conformance.js';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';

const WAIT_LIMIT_MS = 15_000;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Retries `attempt` until it resolves, for at most WAIT_LIMIT_MS. */
async function eventually<T>(what: string, attempt: () => T | Promise<T>): Promise<T> {
  const deadline = Date.now() + WAIT_LIMIT_MS;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${what} did not succeed within ${WAIT_LIMIT_MS} ms`, { cause: error });
      await delay(100);
    }
  }
}

describe('NATS bus, store and work queue across a server restart', () => {
  let server: NatsServer;
  let connection: NatsConnection;
  const logged: string[] = [];
  const logger: NatsLogger = {
    info: (_fields, message) => void logged.push(`info: ${message}`),
    warn: (_fields, message) => void logged.push(`warn: ${message}`),
    error: (_fields, message) => void logged.push(`error: ${message}`),
  };

  beforeAll(async () => {
    server = await startNatsServer();
    connection = await connectNats({ servers: [server.url], reconnect: { min_delay_ms: 50, max_delay_ms: 250 } }, { logger });
  });

  afterAll(async () => {
    await connection?.close();
    await server?.cleanup();
  });

  it('reconnects by itself and every operation works again once the server is back', async () => {
    const store = await openKvStore({ connection, bucket: 'restart', timeoutMs: 1_000 });
    const bus = createNatsBus({ connection });
    const queue = await openNatsWorkQueue({ connection, spec: submissionsQueue({ ackWaitMs: 2_000 }), pullExpiresMs: 1_000, timeoutMs: 1_000 });
    const control = subject({ kind: 'control', taskId: 'T1' });
    const heard: BusMessage[] = [];
    bus.subscribe(control, (message) => void heard.push(message));
    const handled: string[] = [];
    queue.consume((delivery) => void handled.push(delivery.message.type === 'task.submit' ? delivery.message.spec.id : '?'));

    const revision = await store.put('tasks.A', { state: 'PLANNING' });
    await queue.enqueue(subject({ kind: 'tasks.submit' }), submitMessage('BEFORE'));
    await eventually('the first submission', () => expect(handled).toEqual(['BEFORE']));

    await server.stop();
    const whileDown = await store.get('tasks.A').then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(whileDown).toBeInstanceOf(StoreError);
    expect(whileDown).toMatchObject({ code: 'unavailable', retryable: true });
    await server.start();

    expect(await eventually('reading the store', () => store.get('tasks.A'))).toEqual({ key: 'tasks.A', value: { state: 'PLANNING' }, revision });
    expect(await store.put('tasks.A', { state: 'PLANNED' }, { expectedRevision: revision })).toBeGreaterThan(revision);

    await eventually('a bus round trip', async () => {
      await bus.publish(control, abortMessage('T1', 'after restart'));
      await bus.flush();
      expect(heard.length).toBeGreaterThan(0);
    });
    expect(heard[0]).toEqual(abortMessage('T1', 'after restart'));

    await eventually('enqueueing', () => queue.enqueue(subject({ kind: 'tasks.submit' }), submitMessage('AFTER'), { id: 'after-restart' }));
    await eventually('the consumer to pick work up again', () => expect(handled).toEqual(['BEFORE', 'AFTER']));

    expect(logged).toContain('warn: lost the NATS server; reconnecting');
    expect(logged).toContain('info: reconnected to the NATS server');
    await queue.close();
    await bus.close();
    await store.close();
  });
});
