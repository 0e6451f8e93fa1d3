/**
 * The Store port: a key-value store with revisions, the shape of NATS KV, so that the file store
 * (embedded) and the KV store (distributed) are interchangeable and pass one conformance suite.
 *
 * Keys are dot-separated tokens of `[A-Za-z0-9_-]` (`tasks.DEMO-1`), listable by prefix.
 */
export interface StoreEntry {
  readonly key: string;
  readonly value: unknown;
  /** Increases with every write of this key; starts at 1. */
  readonly revision: number;
}

export interface PutOptions {
  /** Write only if the key is at this revision; 0 means "only if it does not exist". */
  readonly expectedRevision?: number;
}

export interface Store {
  get(key: string): Promise<StoreEntry | undefined>;
  /** Returns the new revision. Throws StoreError('conflict') when `expectedRevision` does not match. */
  put(key: string, value: unknown, options?: PutOptions): Promise<number>;
  delete(key: string, options?: PutOptions): Promise<void>;
  /** Every entry whose key starts with `prefix` followed by a dot (or equals it), in key order. */
  list(prefix: string): Promise<StoreEntry[]>;
  close(): Promise<void>;
}

const KEY = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

export function assertKey(key: string): void {
  if (!KEY.test(key)) throw new TypeError(`invalid store key ${JSON.stringify(key)}: use dot-separated tokens of letters, digits, "-" and "_"`);
}
