import { StoreError, errorMessage } from '../platform/errors.js';
import type { Bus, BusHandler, Subscription } from './bus.js';
import { decodeMessage } from './codec.js';
import type { BusMessage } from '../model/task-events.js';
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
}

interface Member {
  readonly pattern: string;
  readonly queue: string | undefined;
  readonly handler: BusHandler;
  readonly inbox: Delivery[];
  active: boolean;
  draining: boolean;
  /** Deliveries queued for this member so far, and how many of them are handled (or dropped). */
  enqueued: number;
  handled: number;
  /** flush() calls waiting until `handled` reaches their `upTo`. */
  readonly waiters: { readonly upTo: number; readonly resolve: () => void }[];
}

/**
 * The embedded-mode Bus. It behaves as the NATS bus does, so one conformance suite covers both:
 * messages go through the same codec (a subscriber receives what JSON on the wire would carry),
 * delivery is never inside publish's call stack, and each subscription handles one message at a
 * time, in publish order.
 *
 * A message is serialized and validated once per publish; the validated copy goes to the first
 * subscriber and a clone to each further one, so no two handlers (nor the publisher) share an
 * object. flush() counts deliveries per member instead of keeping a promise per delivery.
 */
export function createMemoryBus(options: MemoryBusOptions = {}): Bus {
  const members: Member[] = [];
  /** Members with deliveries not yet handled, subscribed or not (an unsubscribed one may be mid-handler). */
  const busy = new Set<Member>();
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

  const settle = (member: Member, count: number): void => {
    member.handled += count;
    if (member.waiters.length > 0) {
      let kept = 0;
      for (const waiter of member.waiters) {
        if (waiter.upTo <= member.handled) waiter.resolve();
        else member.waiters[kept++] = waiter;
      }
      member.waiters.length = kept;
    }
    if (member.handled >= member.enqueued) busy.delete(member);
  };

  const drain = async (member: Member): Promise<void> => {
    try {
      for (let delivery = member.inbox.shift(); delivery !== undefined; delivery = member.inbox.shift()) {
        try {
          await member.handler(delivery.message, delivery.subject);
        } catch (error) {
          reportError(error, delivery.subject);
        } finally {
          settle(member, 1);
        }
      }
    } finally {
      member.draining = false;
    }
  };

  const deliver = (member: Member, subject: string, message: BusMessage): void => {
    member.enqueued++;
    busy.add(member);
    member.inbox.push({ message, subject });
    if (!member.draining) {
      member.draining = true;
      queueMicrotask(() => void drain(member));
    }
  };

  /** NATS joins queue subscribers by queue name across every matching pattern; one of them gets the message. */
  const route = (subject: string, message: BusMessage): void => {
    let groups: Map<string, Member[]> | undefined;
    // The decoded message is this publish's own copy: the first recipient takes it, later ones a clone.
    let fresh: BusMessage | undefined = message;
    const copy = (): BusMessage => {
      const taken = fresh ?? structuredClone(message);
      fresh = undefined;
      return taken;
    };
    for (const member of members) {
      if (!member.active || !subjectMatches(member.pattern, subject)) continue;
      if (member.queue === undefined) {
        deliver(member, subject, copy());
        continue;
      }
      groups ??= new Map();
      const group = groups.get(member.queue);
      if (group) group.push(member);
      else groups.set(member.queue, [member]);
    }
    if (groups === undefined) return;
    for (const [queue, group] of groups) {
      const turn = nextInGroup.get(queue) ?? 0;
      nextInGroup.set(queue, turn + 1);
      const chosen = group[turn % group.length];
      if (chosen) deliver(chosen, subject, copy());
    }
  };

  const dropInbox = (member: Member): void => {
    member.active = false;
    const dropped = member.inbox.length;
    member.inbox.length = 0;
    settle(member, dropped);
  };

  return {
    publish(subject: string, message: BusMessage): Promise<void> {
      // An executor that throws rejects the promise: publish never throws synchronously.
      return new Promise<void>((resolve) => {
        if (closed) throw new StoreError('unavailable', `cannot publish on ${subject}: the bus is closed`);
        // Validate what a NATS subscriber would decode, not the publisher's object: `undefined`
        // fields vanish and non-JSON values fail here instead of on the other side. The JSON text
        // is what encodeMessage would put on the wire, without the round trip through UTF-8 bytes.
        const decoded = decodeMessage(subject, JSON.stringify(message) ?? '');
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
      const member: Member = { pattern, queue, handler, inbox: [], active: true, draining: false, enqueued: 0, handled: 0, waiters: [] };
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
      const waits: Promise<void>[] = [];
      for (const member of busy) {
        const upTo = member.enqueued;
        waits.push(new Promise<void>((resolve) => member.waiters.push({ upTo, resolve })));
      }
      await Promise.all(waits);
    },

    close(): Promise<void> {
      closed = true;
      for (const member of members.splice(0)) dropInbox(member);
      return Promise.resolve();
    },
  };
}

/** Same rules as a NATS subscription subject: non-empty tokens, `>` only at the end. */
