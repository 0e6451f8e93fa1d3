import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BusMessage } from '../../src/model/task-events.js';
import { createMemoryBus } from '../../src/bus/memory-bus.js';
import { subject } from '../../src/bus/subjects.js';
import { abortMessage, describeBusConformance, stateEvent, submitMessage } from '../../src/testing/bus-conformance.js';

describeBusConformance('memory bus', () => {
  const bus = createMemoryBus({ onError: () => undefined });
  return Promise.resolve({ bus, cleanup: () => bus.close() });
});

describe('createMemoryBus', () => {
  const control = subject({ kind: 'control', taskId: 'T1' });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('reports a failing handler to onError with the error and the subject', async () => {
    const reported: Array<[string, string]> = [];
    const bus = createMemoryBus({ onError: (error, subj) => reported.push([(error as Error).message, subj]) });
    bus.subscribe(control, () => {
      throw new Error('sync failure');
    });
    bus.subscribe(control, () => Promise.reject(new Error('async failure')));
    await bus.publish(control, abortMessage('T1'));
    await bus.flush();
    expect(reported).toEqual([
      ['sync failure', control],
      ['async failure', control],
    ]);
    await bus.close();
  });

  it('reports a refused message to onInvalid as well as rejecting the publish', async () => {
    const invalid: Array<[string, string]> = [];
    const bus = createMemoryBus({ onInvalid: (reason, subj) => invalid.push([reason, subj]) });
    const bad = { type: 'task.abort', taskId: 'T1' } as unknown as BusMessage;
    await expect(bus.publish(control, bad)).rejects.toThrow(
      `cannot publish: ${control}: invalid control message: at: Invalid input: expected number, received undefined`,
    );
    expect(invalid).toEqual([[`${control}: invalid control message: at: Invalid input: expected number, received undefined`, control]]);
    await bus.close();
  });

  it('rejects, never throws, when a message cannot be encoded as JSON', async () => {
    const bus = createMemoryBus();
    const unencodable = { ...abortMessage('T1'), at: 1n } as unknown as BusMessage;
    let publishing: Promise<void> | undefined;
    expect(() => (publishing = bus.publish(control, unencodable))).not.toThrow();
    await expect(publishing).rejects.toThrow(TypeError);
    await bus.close();
  });

  it('delivers what JSON would carry: undefined fields are gone, defaults of the schema are filled in', async () => {
    const bus = createMemoryBus();
    const received: BusMessage[] = [];
    bus.subscribe(control, (message) => void received.push(message));
    bus.subscribe(subject({ kind: 'tasks.submit' }), (message) => void received.push(message));
    await bus.publish(control, { type: 'task.abort', taskId: 'T1', at: 5, reason: undefined });
    await bus.publish(subject({ kind: 'tasks.submit' }), submitMessage('S1'));
    await bus.flush();
    expect(received[0]).toStrictEqual({ type: 'task.abort', taskId: 'T1', at: 5 });
    expect(received[1]).toEqual(submitMessage('S1'));
    await bus.close();
  });

  it('hands a queue group its messages in turn', async () => {
    const bus = createMemoryBus();
    const taken: string[] = [];
    for (const member of ['a', 'b', 'c']) bus.subscribe(control, () => void taken.push(member), { queue: 'workers' });
    for (let i = 0; i < 6; i++) await bus.publish(control, abortMessage('T1'));
    await bus.flush();
    expect(taken).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
    await bus.close();
  });

  it('joins queue members of one group name across different matching patterns, as NATS does', async () => {
    const bus = createMemoryBus();
    const taken: string[] = [];
    bus.subscribe(control, () => void taken.push('exact'), { queue: 'workers' });
    bus.subscribe(subject({ kind: 'control.all' }), () => void taken.push('wildcard'), { queue: 'workers' });
    for (let i = 0; i < 4; i++) await bus.publish(control, abortMessage('T1'));
    await bus.flush();
    expect(taken).toEqual(['exact', 'wildcard', 'exact', 'wildcard']);
    await bus.close();
  });

  it('delivers messages published from inside a handler', async () => {
    const bus = createMemoryBus();
    const events: string[] = [];
    bus.subscribe(control, async () => {
      await bus.publish(subject({ kind: 'events', taskId: 'T1', event: 'task.state' }), stateEvent('T1'));
    });
    bus.subscribe(subject({ kind: 'events.all' }), (message) => void events.push(message.type));
    await bus.publish(control, abortMessage('T1'));
    await bus.flush();
    await bus.flush();
    expect(events).toEqual(['task.state']);
    await bus.close();
  });

  it('drops queued messages on close and finishes flush', async () => {
    const bus = createMemoryBus();
    const handled: string[] = [];
    bus.subscribe(control, (message) => void handled.push(message.type));
    const published = bus.publish(control, abortMessage('T1'));
    await bus.close();
    await published;
    await bus.flush();
    expect(handled).toEqual([]);
    expect(() => bus.subscribe(control, () => undefined)).toThrow('cannot subscribe to tandem.v1.control.T1: the bus is closed');
  });

  it('keeps working under fake timers, because delivery uses microtasks', async () => {
    vi.useFakeTimers();
    const bus = createMemoryBus();
    const handled: string[] = [];
    bus.subscribe(control, (message) => void handled.push(message.type));
    await bus.publish(control, abortMessage('T1'));
    await bus.flush();
    expect(handled).toEqual(['task.abort']);
    await bus.close();
  });

  it('refuses invalid subscription subjects and queue names', () => {
    const bus = createMemoryBus();
    expect(() => bus.subscribe('tandem.>.x', () => undefined)).toThrow('invalid subscription subject "tandem.>.x"');
    expect(() => bus.subscribe('tandem..x', () => undefined)).toThrow(TypeError);
    expect(() => bus.subscribe(control, () => undefined, { queue: 'a b' })).toThrow('invalid queue group name "a b"');
    void bus.close();
  });
});
