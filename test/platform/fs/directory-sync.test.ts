import { describe, expect, it } from 'vitest';
import { createDirectorySyncer } from '../../../src/platform/fs/directory-sync.js';

interface Deferred {
  readonly promise: Promise<void>;
  resolve(): void;
  reject(error: Error): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A fake fsync that records each call and completes only when the test says so. */
function controlledSync(): { calls: string[]; pending: Deferred[]; sync: (dir: string) => Promise<void> } {
  const calls: string[] = [];
  const pending: Deferred[] = [];
  return {
    calls,
    pending,
    sync: (dir) => {
      calls.push(dir);
      const d = deferred();
      pending.push(d);
      return d.promise;
    },
  };
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('createDirectorySyncer', () => {
  it('answers 256 concurrent requests for one folder with one fsync', async () => {
    const fake = controlledSync();
    const syncer = createDirectorySyncer(fake.sync);
    let resolved = 0;
    const waits = Array.from({ length: 256 }, () => syncer.sync('/d').then(() => void resolved++));
    await nextTurn();
    expect(fake.calls).toEqual(['/d']);
    expect(resolved).toBe(0);
    fake.pending[0]?.resolve();
    await Promise.all(waits);
    expect(resolved).toBe(256);
  });

  it('gives requests made during a running fsync one more fsync that starts after it', async () => {
    const fake = controlledSync();
    const syncer = createDirectorySyncer(fake.sync);
    const first = syncer.sync('/d');
    await nextTurn();
    const late = [syncer.sync('/d'), syncer.sync('/d'), syncer.sync('/d')];
    await nextTurn();
    expect(fake.calls).toEqual(['/d']);
    fake.pending[0]?.resolve();
    await first;
    await nextTurn();
    expect(fake.calls).toEqual(['/d', '/d']);
    fake.pending[1]?.resolve();
    await Promise.all(late);
    expect(fake.calls).toHaveLength(2);
  });

  it('fsyncs different folders separately', async () => {
    const fake = controlledSync();
    const syncer = createDirectorySyncer(fake.sync);
    const waits = [syncer.sync('/a'), syncer.sync('/b'), syncer.sync('/a')];
    await nextTurn();
    expect([...fake.calls].sort()).toEqual(['/a', '/b']);
    for (const d of fake.pending) d.resolve();
    await Promise.all(waits);
  });

  it('rejects every request of a failed fsync, and the next request tries again', async () => {
    const fake = controlledSync();
    const syncer = createDirectorySyncer(fake.sync);
    const waits = [syncer.sync('/d'), syncer.sync('/d')];
    await nextTurn();
    fake.pending[0]?.reject(new Error('EIO'));
    const outcomes = await Promise.allSettled(waits);
    expect(outcomes.map((o) => (o.status === 'rejected' ? (o.reason as Error).message : 'ok'))).toEqual(['EIO', 'EIO']);
    const retry = syncer.sync('/d');
    await nextTurn();
    fake.pending[1]?.resolve();
    await retry;
    expect(fake.calls).toEqual(['/d', '/d']);
  });
});
