import { DeliverPolicy, JetStreamApiCodes, JetStreamApiError, jetstream, StorageType } from '@nats-io/jetstream';
import type { Consumer, JetStreamClient } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { KV, KvEntry } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/nats-core';
import { errorMessage, StoreError } from '../platform/errors.js';
import { assertKey } from './store.js';
import type { PutOptions, Store, StoreEntry } from './store.js';
import { compareKeys, serializeValue } from './store-values.js';

export interface KvStoreOptions {
  /** Shared with the bus and the work queues; the store never closes it. */
  readonly connection: NatsConnection;
  /** Bucket name (letters, digits, `-`, `_`); created on first use, bound when it exists. */
  readonly bucket: string;
  /** How long one operation waits for the server before it fails as unavailable. */
  readonly timeoutMs?: number;
  /** Copies kept by a clustered server; 1 on a single server. */
  readonly replicas?: number;
}

const BUCKET = /^[A-Za-z0-9_-]+$/;
const DEFAULT_TIMEOUT_MS = 5_000;

/**
 * The distributed-mode Store over a JetStream KV bucket. A write with `expectedRevision` is a
 * server-side compare-and-set (the `Nats-Expected-Last-Subject-Sequence` header), so two
 * supervisors never both win a revision.
 *
 * Revisions are the bucket's stream sequence: they grow with every write of a key, as the port
 * asks, but by more than one when other keys were written in between. A deleted key leaves a
 * marker whose sequence is never returned, so a re-created key always gets a higher revision.
 */
export async function openKvStore(options: KvStoreOptions): Promise<Store> {
  if (!BUCKET.test(options.bucket)) throw new TypeError(`invalid KV bucket name ${JSON.stringify(options.bucket)}: use letters, digits, "-" and "_"`);
  const timeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const js = jetstream(options.connection, { timeout });
  let kv: KV;
  try {
    kv = await new Kvm(js).create(options.bucket, { history: 1, storage: StorageType.File, replicas: options.replicas ?? 1, timeout });
  } catch (error) {
    throw new StoreError('unavailable', `cannot open the KV bucket ${options.bucket}: ${errorMessage(error)}`, { cause: error });
  }
  return createKvStore(kv, js, options.bucket);
}

function createKvStore(kv: KV, js: JetStreamClient, bucket: string): Store {
  const stream = `KV_${bucket}`;
  const subjectPrefix = `$KV.${bucket}.`;
  let closed = false;

  /** A bad key or a closed store rejects; nothing here throws synchronously. */
  const op = async <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    assertKey(key);
    if (closed) throw new StoreError('unavailable', `the KV store ${bucket} is closed`);
    return fn();
  };

  const decode = (key: string, entry: KvEntry): StoreEntry => {
    let value: unknown;
    try {
      value = JSON.parse(entry.string());
    } catch (error) {
      throw new StoreError('corrupt', `${bucket}/${key} at revision ${entry.revision} is not JSON: ${errorMessage(error)}`, { cause: error });
    }
    return { key, value, revision: entry.revision };
  };

  const read = async (key: string): Promise<StoreEntry | undefined> => {
    const entry = await kv.get(key).catch((error: unknown) => {
      throw failure(error, `read ${key}`);
    });
    return entry === null || entry.operation !== 'PUT' ? undefined : decode(key, entry);
  };

  const failure = (error: unknown, what: string, expected?: number): Error => {
    if (error instanceof StoreError || error instanceof TypeError) return error;
    if (
      error instanceof JetStreamApiError &&
      (error.code === JetStreamApiCodes.StreamWrongLastSequence || error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
    ) {
      const key = what.slice(what.indexOf(' ') + 1);
      const wanted = expected === 0 ? 'it not to exist' : `revision ${expected}`;
      return new StoreError('conflict', `${key}: expected ${wanted}, but it has changed (${error.message})`, { cause: error });
    }
    // A timed-out write may still have been applied: a caller retries with the same
    // expectedRevision, which conflicts instead of writing twice.
    return new StoreError('unavailable', `cannot ${what} in the KV bucket ${bucket}: ${errorMessage(error)}`, { cause: error });
  };

  /** Live entries below `prefix.` as of now, read in one pass by an ordered consumer. */
  const below = async (prefix: string): Promise<StoreEntry[]> => {
    const consumer = await js.consumers.get(stream, { filter_subjects: `${subjectPrefix}${prefix}.>`, deliver_policy: DeliverPolicy.LastPerSubject });
    try {
      return await readAll(consumer);
    } finally {
      // The server would otherwise keep the ephemeral consumer for minutes after every list.
      await consumer.delete().catch(() => undefined);
    }
  };

  const readAll = async (consumer: Consumer): Promise<StoreEntry[]> => {
    const info = await consumer.info(true);
    const pending = info.num_pending;
    const entries: StoreEntry[] = [];
    if (pending === 0) return entries;
    const messages = await consumer.fetch({ max_messages: pending, expires: DEFAULT_TIMEOUT_MS });
    for await (const message of messages) {
      const operation = message.headers?.get('KV-Operation') ?? '';
      const key = message.subject.slice(subjectPrefix.length);
      if (operation === '') {
        try {
          entries.push({ key, value: JSON.parse(message.string()) as unknown, revision: message.seq });
        } catch (error) {
          throw new StoreError('corrupt', `${bucket}/${key} at revision ${message.seq} is not JSON: ${errorMessage(error)}`, { cause: error });
        }
      }
      if (message.info.pending === 0) break;
    }
    return entries;
  };

  return {
    get: (key) => op(key, () => read(key)),

    put: (key, value, options?: PutOptions) =>
      op(key, async () => {
        const json = serializeValue(key, value);
        const expected = checkedRevision(key, options);
        try {
          if (expected === undefined) return await kv.put(key, json);
          if (expected === 0) return await kv.create(key, json);
          return await kv.update(key, json, expected);
        } catch (error) {
          throw failure(error, `write ${key}`, expected);
        }
      }),

    delete: (key, options?: PutOptions) =>
      op(key, async () => {
        const expected = checkedRevision(key, options);
        if (expected === undefined || expected === 0) {
          // Deleting what does not exist writes nothing (no marker piles up for unknown keys).
          const current = await read(key);
          if (current === undefined) return;
          if (expected === 0) throw new StoreError('conflict', `${key}: expected it not to exist, but it is at revision ${current.revision}`);
        }
        try {
          await kv.delete(key, expected === undefined ? undefined : { previousSeq: expected });
        } catch (error) {
          throw failure(error, `delete ${key}`, expected);
        }
      }),

    list: (prefix) =>
      op(prefix, async () => {
        try {
          const [exact, rest] = await Promise.all([read(prefix), below(prefix)]);
          return (exact === undefined ? rest : [exact, ...rest]).sort((a, b) => compareKeys(a.key, b.key));
        } catch (error) {
          throw failure(error, `list ${prefix}`);
        }
      }),

    close(): Promise<void> {
      closed = true;
      return Promise.resolve();
    },
  };
}

function checkedRevision(key: string, options: PutOptions | undefined): number | undefined {
  const expected = options?.expectedRevision;
  if (expected !== undefined && (!Number.isInteger(expected) || expected < 0)) {
    throw new TypeError(`expectedRevision for ${key} must be a non-negative integer, got ${expected}`);
  }
  return expected;
}
