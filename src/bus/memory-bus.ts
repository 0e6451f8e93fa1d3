import { StoreError, errorMessage } from '../errors.js';
import type { Bus, BusHandler, Subscription } from './bus.js';
import { decodeMessage, encodeMessage } from './codec.js';
import type { BusMessage } from './messages.js';
import { assertSubscription, subjectMatches } from './subjects.js';

export interface MemoryBusOptions {
  /** A message refused by validation. In memory that happens on publish, which also rejects. */
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
  readonly pattern: string;
  readonly queue: string | undefined;
  readonly handler: BusHandler;
  readonly inbox: Delivery[];
  active: boolean;
  draining: boolean;
}


/**
 * The embedded-mode Bus. It behaves as the NATS bus does, so one conformance suite covers both:
 * messages go through the same codec (a subscriber receives what JSON on the wire would carry),
 * delivery is never inside publish's call stack, and each subscription handles one message at a
 * time, in publish order.
 */
export function createMemoryBus(options: MemoryBusOptions = {}): Bus {
  const members: Member[] = [];
  const inFlight = new Set<Promise<void>>();
  const nextInGroup = new Map<string, number>();
  let closed = false;

  const reportError = (error: unknown, subject: string): void => {
    try {
      if (options.onError) options.onError(error, subject);
      else process.emitWarning(`bus handler for ${subject} failed: ${errorMessage(error)}`);
    } catch (hookError) {
      process.emitWarning(`bus onError hook failed: ${errorMessage(hookError)}`);
    }
  };

  const drain = async (member: Member): Promise<void> => {
    member.draining = true;
    try {
      for (let delivery = member.inbox.shift(); delivery !== undefined; delivery = member.inbox.shift()) {
        try {
          await member.handler(delivery.message, delivery.subject);
        } catch (error) {
          reportError(error, delivery.subject);
        } finally {
          delivery.done();
        }
      }
    } finally {
      member.draining = false;
    }
  };

  const deliver = (member: Member, subject: string, message: BusMessage): void => {
    let done!: () => void;
    const handled = new Promise<void>((resolve) => (done = resolve));
    inFlight.add(handled);
    void handled.then(() => inFlight.delete(handled));
    member.inbox.push({ message: structuredClone(message), subject, done });
    if (!member.draining) {
      member.draining = true;
      queueMicrotask(() => void drain(member));
    }
  };

  /** NATS joins queue subscribers by queue name across every matching pattern; one of them gets the message. */
  const route = (subject: string, message: BusMessage): void => {
    const groups = new Map<string, Member[]>();
    for (const member of members) {
      if (!member.active || !subjectMatches(member.pattern, subject)) continue;
      if (member.queue === undefined) {
        deliver(member, subject, message);
        continue;
      }
      const group = groups.get(member.queue);
      if (group) group.push(member);
      else groups.set(member.queue, [member]);
    }
    for (const [queue, group] of groups) {
      const turn = nextInGroup.get(queue) ?? 0;
      nextInGroup.set(queue, turn + 1);
      const chosen = group[turn % group.length];
      if (chosen) deliver(chosen, subject, message);
    }
  };

  const dropInbox = (member: Member): void => {
    member.active = false;
    for (const delivery of member.inbox.splice(0)) delivery.done();
  };

  return {
    publish(subject: string, message: BusMessage): Promise<void> {
      // An executor that throws rejects the promise: publish never throws synchronously.
      return new Promise<void>((resolve) => {
        if (closed) throw new StoreError('unavailable', `cannot publish on ${subject}: the bus is closed`);
        // Validate what a NATS subscriber would decode, not the publisher's object: `undefined`
        // fields vanish and non-JSON values fail here instead of on the other side.
        const decoded = decodeMessage(subject, encodeMessage(message));
        if (!decoded.ok) {
          options.onInvalid?.(decoded.reason, subject);
          throw new TypeError(`cannot publish: ${decoded.reason}`);
        }
        route(subject, decoded.message);
        resolve();
      });
    },

    subscribe(pattern: string, handler: BusHandler, subscribeOptions: { queue?: string } = {}): Subscription {
      if (closed) throw new StoreError('unavailable', `cannot subscribe to ${pattern}: the bus is closed`);
      const queue = subscribeOptions.queue;
      assertSubscription(pattern, queue);
      const member: Member = { pattern, queue, handler, inbox: [], active: true, draining: false };
      members.push(member);
      return {
        unsubscribe(): void {
          const index = members.indexOf(member);
          if (index >= 0) members.splice(index, 1);
          dropInbox(member);
        },
      };
    },

    async flush(): Promise<void> {
      await Promise.all([...inFlight]);
    },

    close(): Promise<void> {
      closed = true;
      for (const member of members.splice(0)) dropInbox(member);
      return Promise.resolve();
    },
  };
}

/** Same rules as a NATS subscription subject: non-empty tokens, `>` only at the end. */
