import { connect } from '@nats-io/transport-node';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMessage } from '../../src/bus/codec.js';
import type { BusMessage } from '../../src/model/task-events.js';
import { createNatsBus } from '../../src/bus/nats-bus.js';
import { connectNats, type NatsConnection } from '../../src/bus/nats-connection.js';
import { subject } from '../../src/bus/subjects.js';
import { abortMessage, describeBusConformance, stateEvent, submitMessage } from '../../src/testing/bus-conformance.js';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';

let server: NatsServer;

beforeAll(async () => {
  server = await startNatsServer();
});

afterAll(async () => {
  await server?.cleanup();
});

describeBusConformance('NATS bus', async () => {
  const connection: NatsConnection = await connectNats({ servers: [server.url] });
  const bus = createNatsBus({ connection, onError: () => undefined, onInvalid: () => undefined });
  return {
    bus,
    cleanup: async () => {
      await bus.close();
      await connection.close();
    },
  };
});

const subjects = [
  subject({ kind: 'events', taskId: 'T1', event: 'task.state' }),
  subject({ kind: 'control', taskId: 'T1' }),
  subject({ kind: 'tasks.submit' }),
  subject({ kind: 'role.run', role: 'planner' }),
  'tandem.v1.events.T1',
  'tandem.v1.unknown.channel',
];

const encoder = new TextEncoder();

/** Bytes a broken or hostile publisher could send: noise, JSON of every shape, and near-misses of real messages. */
const payloads: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 256 }),
  fc.string({ unit: 'grapheme', maxLength: 200 }).map((s) => encoder.encode(s)),
  fc.json({ maxDepth: 4 }).map((s) => encoder.encode(s)),
  fc
    .record(
      {
        type: fc.constantFrom('task.state', 'task.abort', 'task.submit', 'review.decision', 'nope', ''),
        taskId: fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.constant(null)),
        at: fc.oneof(fc.integer(), fc.double(), fc.string({ maxLength: 4 })),
        state: fc.oneof(fc.constantFrom('PLANNING', 'DONE', 'planning'), fc.integer()),
        attempt: fc.oneof(fc.integer({ min: -2, max: 3 }), fc.constant('1')),
        decision: fc.oneof(fc.constant({ decision: 'approve' }), fc.constant({ decision: 'feedback', text: '' }), fc.json({ maxDepth: 2 })),
      },
      { requiredKeys: ['type'] },
    )
    .map((o) => encoder.encode(JSON.stringify(o))),
  fc.nat({ max: 2_000 }).map((depth) => encoder.encode(`${'['.repeat(depth)}${']'.repeat(depth)}`)),
  fc.constant(encoder.encode(JSON.stringify({ ...stateEvent('T1'), padding: 'x'.repeat(200_000) }))),
);

describe('NATS bus under malformed messages (fuzz)', () => {
  it('drops every invalid message with the codec reason, delivers every valid one, and keeps delivering', async () => {
    const connection = await connectNats({ servers: [server.url] });
    const raw = await connect({ servers: server.url });
    const invalid: Array<[string, string]> = [];
    const failures: unknown[] = [];
    const bus = createNatsBus({ connection, onInvalid: (reason, subj) => void invalid.push([subj, reason]), onError: (error) => void failures.push(error) });
    const received: Array<[string, BusMessage]> = [];
    bus.subscribe('tandem.v1.>', (message, subj) => void received.push([subj, message]));
    // The raw client is another connection: the subscription must be on the server before it publishes.
    await bus.flush();
    try {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...subjects), payloads, async (subj, data) => {
          invalid.length = 0;
          received.length = 0;
          raw.publish(subj, data);
          await raw.flush();
          await bus.flush();
          const expected = decodeMessage(subj, data);
          if (expected.ok) {
            expect(received).toEqual([[subj, expected.message]]);
            expect(invalid).toEqual([]);
          } else {
            expect(invalid).toEqual([[subj, expected.reason]]);
            expect(received).toEqual([]);
          }
        }),
        { numRuns: 300 },
      );
      received.length = 0;
      const control = subject({ kind: 'control', taskId: 'T1' });
      await bus.publish(control, abortMessage('T1', 'still alive'));
      await bus.publish(subject({ kind: 'tasks.submit' }), submitMessage('S1'));
      await bus.flush();
      expect(received).toEqual([
        [control, abortMessage('T1', 'still alive')],
        [subject({ kind: 'tasks.submit' }), submitMessage('S1')],
      ]);
      expect(failures).toEqual([]);
    } finally {
      await bus.close();
      await raw.close();
      await connection.close();
    }
  });
});
