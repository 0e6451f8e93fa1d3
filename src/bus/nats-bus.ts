import type { Msg, NatsConnection, Subscription as NatsSubscription } from '@nats-io/nats-core';
import { errorMessage, StoreError } from '../platform/errors.js';
import type { Bus, BusHandler, Subscription } from './bus.js';
import { decodeMessage, encodeMessage } from './codec.js';
import type { BusMessage } from '../model/task-events.js';
import { assertSubscription } from './subjects.js';

export interface NatsBusOptions {
  /** Shared with the store and the work queues; the bus never closes it. */
  readonly connection: NatsConnection;
  /**
   * A message refused by validation: on publish (which also rejects) or on receipt (a malformed or
   * unknown message from the network, which is dropped). Default: a process warning.
   */
  readonly onInvalid?: (reason: string, subject: string) => void;
  /** A handler threw or rejected. Delivery to other subscribers and of later messages goes on. */
  readonly onError?: (error: unknown, subject: string) => void;
}

interface Delivery {
  readonly message: BusMessage;
  readonly subject: string;
  readonly done: () => void;
}

interface Member {
  readonly handler: BusHandler;
  readonly inbox: Delivery[];
  nats: NatsSubscription | undefined;
  draining: boolean;
}

/**
 * The distributed-mode Bus over core NATS subjects (at most once; durable work goes through
 * work-queue.ts). Each subscription decodes and validates on its own, so every handler gets its own
 * copy, and handles one message at a time in arrival order, like the in-memory bus.
 *
 * `flush` covers what this process published and what its subscriptions received: it waits for the
 * server's answer to a ping, which arrives after every message the server routed to this connection
 * before it, and then for the handlers of those messages.
 */
export function createNatsBus(options: NatsBusOptions): Bus {
  const nc = options.connection;
  const members = new Set<Member>();
  const inFlight = new Set<Promise<void>>();
  let closed = false;

  const report = (hook: 'onInvalid' | 'onError', first: unknown, subject: string): void => {
    try {
      if (hook === 'onInvalid') {
        if (options.onInvalid) options.onInvalid(String(first), subject);
        else process.emitWarning(`dropped a bus message: ${String(first)}`);
      } else if (options.onError) {
        options.onError(first, subject);
      } else {
        process.emitWarning(`bus handler for ${subject} failed: ${errorMessage(first)}`);
      }
    } catch (hookError) {
      process.emitWarning(`bus ${hook} hook failed: ${errorMessage(hookError)}`);
    }
  };

  const drain = async (member: Member): Promise<void> => {
    member.draining = true;
    try {
      for (let delivery = member.inbox.shift(); delivery !== undefined; delivery = member.inbox.shift()) {
        try {
          await member.handler(delivery.message, delivery.subject);
        } catch (error) {
          report('onError', error, delivery.subject);
        } finally {
          delivery.done();
        }
      }
    } finally {
      member.draining = false;
    }
  };

  const receive = (member: Member, msg: Msg): void => {
    if (member.nats === undefined) return;
    const decoded = decodeMessage(msg.subject, msg.data);
    if (!decoded.ok) {
      report('onInvalid', decoded.reason, msg.subject);
      return;
    }
    let done!: () => void;
    const handled = new Promise<void>((resolve) => (done = resolve));
    inFlight.add(handled);
    void handled.then(() => inFlight.delete(handled));
    member.inbox.push({ message: decoded.message, subject: msg.subject, done });
    if (!member.draining) void drain(member);
  };

  const dropMember = (member: Member): void => {
    members.delete(member);
    const subscription = member.nats;
    member.nats = undefined;
    try {
      subscription?.unsubscribe();
    } catch {
      // The connection is already closed: nothing is subscribed any more.
    }
    for (const delivery of member.inbox.splice(0)) delivery.done();
  };

  const unavailable = (what: string, cause?: unknown): StoreError =>
    new StoreError('unavailable', `cannot ${what}: ${closed ? 'the bus is closed' : 'the NATS connection is closed'}`, { cause });

  return {
    publish(subject: string, message: BusMessage): Promise<void> {
      return new Promise<void>((resolve) => {
        if (closed || nc.isClosed()) throw unavailable(`publish on ${subject}`);
        const data = encodeMessage(message);
        // Validate what a subscriber will decode, so a bad message fails here, at its source.
        const decoded = decodeMessage(subject, data);
        if (!decoded.ok) {
          report('onInvalid', decoded.reason, subject);
          throw new TypeError(`cannot publish: ${decoded.reason}`);
        }
        try {
          // While the server is away the client buffers this and sends it after reconnecting.
          nc.publish(subject, data);
        } catch (error) {
          throw nc.isClosed() ? unavailable(`publish on ${subject}`, error) : error;
        }
        resolve();
      });
    },

    subscribe(pattern: string, handler: BusHandler, subscribeOptions: { queue?: string } = {}): Subscription {
      if (closed || nc.isClosed()) throw unavailable(`subscribe to ${pattern}`);
      const queue = subscribeOptions.queue;
      assertSubscription(pattern, queue);
      const member: Member = { handler, inbox: [], nats: undefined, draining: false };
      member.nats = nc.subscribe(pattern, {
        ...(queue === undefined ? {} : { queue }),
        callback: (error, msg) => {
          if (error) report('onError', error, pattern);
          else receive(member, msg);
        },
      });
      members.add(member);
      return { unsubscribe: () => dropMember(member) };
    },

    async flush(): Promise<void> {
      if (closed) return;
      try {
        await nc.flush();
      } catch (error) {
        throw new StoreError('unavailable', `cannot flush the bus: ${errorMessage(error)}`, { cause: error });
      }
      await Promise.all([...inFlight]);
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const member of [...members]) dropMember(member);
      // Hand what was published to the server before saying the bus is closed.
      if (!nc.isClosed()) await nc.flush().catch(() => undefined);
    },
  };
}

/** The rules of a NATS subscription subject: non-empty tokens, `>` only at the end. */
