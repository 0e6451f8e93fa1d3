import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../src/runtime/scheduler.js';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('Scheduler', () => {
  it('runs at most `limit` jobs at once, higher priority first, then in submission order', async () => {
    const scheduler = new Scheduler(2);
    const started: string[] = [];
    const gates = new Map<string, ReturnType<typeof deferred>>();
    const job = (name: string) => () => {
      started.push(name);
      const gate = deferred();
      gates.set(name, gate);
      return gate.promise;
    };
    const all = [
      scheduler.run('low', job('low-1')),
      scheduler.run('low', job('low-2')),
      scheduler.run('medium', job('medium-1')),
      scheduler.run('high', job('high-1')),
      scheduler.run('high', job('high-2')),
    ];
    expect(started).toEqual(['low-1', 'low-2']);
    expect(scheduler.running).toBe(2);
    expect(scheduler.queued).toBe(3);
    gates.get('low-1')?.resolve();
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual(['low-1', 'low-2', 'high-1']);
    gates.get('low-2')?.resolve();
    gates.get('high-1')?.resolve();
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual(['low-1', 'low-2', 'high-1', 'high-2', 'medium-1']);
    gates.get('high-2')?.resolve();
    gates.get('medium-1')?.resolve();
    await Promise.all(all);
    expect(scheduler.running).toBe(0);
  });

  it('frees the slot of a job that fails', async () => {
    const scheduler = new Scheduler(1);
    await expect(scheduler.run('medium', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(scheduler.run('medium', () => Promise.resolve(42))).resolves.toBe(42);
  });
});
