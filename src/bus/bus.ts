import type { BusMessage } from '../model/task-events.js';

export interface Subscription {
  unsubscribe(): void;
}

export type BusHandler = (message: BusMessage, subject: string) => void | Promise<void>;

/**
 * The Bus port. Embedded mode uses the in-memory bus, distributed mode NATS; nothing outside
 * src/bus knows which. Every message is validated against the channel's schema on receipt; a
 * malformed message is dropped with a reported reason and never reaches a handler.
 */
export interface Bus {
  publish(subject: string, message: BusMessage): Promise<void>;
  /** `pattern` may use NATS wildcards. With `queue`, each message goes to one member of the group. */
  subscribe(pattern: string, handler: BusHandler, options?: { queue?: string }): Subscription;
  /** Waits until every message published so far has been handled. */
  flush(): Promise<void>;
  close(): Promise<void>;
}
