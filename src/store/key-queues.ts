/**
 * Per-key queues: writes to one key run one after another, so that the revision a write checks is
 * still the key's revision when it commits. Writes to different keys run side by side.
 */
interface KeyQueues {
  /** Runs `fn` once every earlier call for `key` has settled. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T>;
  /** Resolves once the calls for these keys issued so far have settled. */
  settled(keys: readonly string[]): Promise<void>;
  /** Resolves once every call issued so far has settled. */
  all(): Promise<void>;
}

export function createKeyQueues(): KeyQueues {
  /** The tail of each key's queue; a key leaves the map when its queue runs empty. */
  const tails = new Map<string, Promise<void>>();
  return {
    run<T>(key: string, fn: () => Promise<T>): Promise<T> {
      const result = (tails.get(key) ?? Promise.resolve()).then(fn);
      const tail = result.then(
        () => undefined,
        () => undefined,
      );
      tails.set(key, tail);
      void tail.then(() => {
        if (tails.get(key) === tail) tails.delete(key);
      });
      return result;
    },
    async settled(keys) {
      await Promise.all(keys.flatMap((key) => tails.get(key) ?? []));
    },
    async all() {
      await Promise.all(tails.values());
    },
  };
}
