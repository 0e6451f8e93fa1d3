import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Bus } from '../bus/bus.js';
import type { BusMessage, ControlMessage, SubmitMessage, TaskEvent } from '../model/task-events.js';
import { subject } from '../bus/subjects.js';
import { StoreError } from '../platform/errors.js';
import { TaskSpecSchema } from '../model/task-spec.js';

export interface BusUnderTest {
  readonly bus: Bus;
  /** Closes the bus (again, if a test already did) and frees whatever the factory started. */
  cleanup(): Promise<void>;
}

export type BusFactory = () => Promise<BusUnderTest>;

interface Received {
  readonly subject: string;
  readonly message: BusMessage;
}

export function stateEvent(taskId: string, attempt = 0): TaskEvent {
  return { type: 'task.state', taskId, at: 1_700_000_000_000, state: 'PLANNING', attempt };
}

export function abortMessage(taskId: string, reason?: string): ControlMessage {
  return reason === undefined ? { type: 'task.abort', taskId, at: 1_700_000_000_000 } : { type: 'task.abort', taskId, at: 1_700_000_000_000, reason };
}

export function submitMessage(id: string): SubmitMessage {
  return { type: 'task.submit', spec: TaskSpecSchema.parse({ id, goal: `goal of ${id}` }), repo: '/repo', at: 1_700_000_000_000 };
}

function idOf(message: BusMessage): string {
  return message.type === 'task.submit' ? message.spec.id : message.taskId;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/**
 * The one suite every Bus implementation must pass (in-memory in unit tests, NATS in integration
 * tests), in the style of langgraphjs checkpoint-validation. It uses only the Bus port and waits
 * with `flush()`, never with sleeps, so it is deterministic on every implementation.
 *
 * Beyond what bus.ts spells out, it pins: delivery is never inside publish's call stack, a
 * subscription handles one message at a time in publish order, a queue group is one member per
 * message across the group, and a closed bus rejects publish with StoreError('unavailable').
 */
export function describeBusConformance(name: string, factory: BusFactory): void {
  describe(`Bus conformance: ${name}`, () => {
    let underTest: BusUnderTest | undefined;
    let bus: Bus;

    beforeEach(async () => {
      underTest = await factory();
      bus = underTest.bus;
    });

    afterEach(async () => {
      await underTest?.cleanup();
      underTest = undefined;
    });

    const collect = (pattern: string, options?: { queue?: string }): Received[] => {
      const received: Received[] = [];
      bus.subscribe(pattern, (message, subj) => void received.push({ subject: subj, message }), options);
      return received;
    };

    it('delivers a message on an exact subject, as published', async () => {
      const control = subject({ kind: 'control', taskId: 'T1' });
      const received = collect(control);
      await bus.publish(control, abortMessage('T1', 'stop now'));
      await bus.flush();
      expect(received).toEqual([{ subject: control, message: abortMessage('T1', 'stop now') }]);
    });

    it('delivers with `*` to every subject with one token in its place, and nothing else', async () => {
      const received = collect(subject({ kind: 'events.task', taskId: 'T1' }));
      const planning = subject({ kind: 'events', taskId: 'T1', event: 'task.state' });
      const other = subject({ kind: 'events', taskId: 'T1', event: 'role.started' });
      await bus.publish(planning, stateEvent('T1'));
      await bus.publish(subject({ kind: 'events', taskId: 'T2', event: 'task.state' }), stateEvent('T2'));
      await bus.publish(other, stateEvent('T1', 1));
      await bus.flush();
      expect(received).toEqual([
        { subject: planning, message: stateEvent('T1') },
        { subject: other, message: stateEvent('T1', 1) },
      ]);
    });

    it('delivers with `>` to every subject below the prefix, and nothing else', async () => {
      const received = collect(subject({ kind: 'events.all' }));
      const t1 = subject({ kind: 'events', taskId: 'T1', event: 'task.state' });
      const t2 = subject({ kind: 'events', taskId: 'T2', event: 'task.state' });
      await bus.publish(t1, stateEvent('T1'));
      await bus.publish(subject({ kind: 'control', taskId: 'T1' }), abortMessage('T1'));
      await bus.publish(t2, stateEvent('T2'));
      await bus.flush();
      expect(received.map((r) => r.subject)).toEqual([t1, t2]);
    });

    it('does not deliver to subscriptions whose subject does not match', async () => {
      const otherTask = collect(subject({ kind: 'control', taskId: 'T2' }));
      const shorter = collect('tandem.v1.events.T1');
      const longer = collect(`${subject({ kind: 'control', taskId: 'T1' })}.extra`);
      const otherVersion = collect('tandem.v2.control.*');
      await bus.publish(subject({ kind: 'control', taskId: 'T1' }), abortMessage('T1'));
      await bus.publish(subject({ kind: 'events', taskId: 'T1', event: 'task.state' }), stateEvent('T1'));
      await bus.flush();
      expect([otherTask.length, shorter.length, longer.length, otherVersion.length]).toEqual([0, 0, 0, 0]);
    });

    it('never runs a handler inside the publish call', async () => {
      const control = subject({ kind: 'control', taskId: 'T1' });
      let handled = 0;
      bus.subscribe(control, () => void handled++);
      const published = bus.publish(control, abortMessage('T1'));
      const handledDuringPublish = handled;
      await published;
      await bus.flush();
      expect([handledDuringPublish, handled]).toEqual([0, 1]);
    });

    it('gives each message to exactly one member of a queue group, and to every plain subscriber', async () => {
      const submit = subject({ kind: 'tasks.submit' });
      const first = collect(submit, { queue: 'supervisors' });
      const second = collect(submit, { queue: 'supervisors' });
      const plain = collect(submit);
      const otherGroup = collect(submit, { queue: 'auditors' });
      for (const i of range(20)) await bus.publish(submit, submitMessage(`S${i}`));
      await bus.flush();
      const byGroup = [...first, ...second].map((r) => idOf(r.message)).sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
      expect(byGroup).toEqual(range(20).map((i) => `S${i}`));
      expect(first.length).toBeGreaterThan(0);
      expect(second.length).toBeGreaterThan(0);
      expect(plain.map((r) => idOf(r.message))).toEqual(range(20).map((i) => `S${i}`));
      expect(otherGroup.map((r) => idOf(r.message))).toEqual(range(20).map((i) => `S${i}`));
    });

    it('keeps publish order for each subscriber, with sync and slow async handlers', async () => {
      const control = subject({ kind: 'control', taskId: 'T1' });
      const fast: number[] = [];
      const slow: number[] = [];
      bus.subscribe(control, (message) => void fast.push(attemptOf(message)));
      bus.subscribe(control, async (message) => {
        await delay(attemptOf(message) % 3);
        slow.push(attemptOf(message));
      });
      for (const i of range(60)) await bus.publish(control, abortMessage('T1', String(i)));
      await bus.flush();
      expect(fast).toEqual(range(60));
      expect(slow).toEqual(range(60));
    });

    it('handles one message at a time per subscription', async () => {
      const control = subject({ kind: 'control', taskId: 'T1' });
      let running = 0;
      let mostAtOnce = 0;
      let handled = 0;
      bus.subscribe(control, async () => {
        running++;
        mostAtOnce = Math.max(mostAtOnce, running);
        await delay(1);
        running--;
        handled++;
      });
      await Promise.all(range(10).map((i) => bus.publish(control, abortMessage('T1', String(i)))));
      await bus.flush();
      expect([handled, mostAtOnce]).toEqual([10, 1]);
    });

    it('stops delivering to a subscription once it is unsubscribed', async () => {
      const control = subject({ kind: 'control', taskId: 'T1' });
      const kept = collect(control);
      const dropped: Received[] = [];
      const subscription = bus.subscribe(control, (message, subj) => void dropped.push({ subject: subj, message }));
      await bus.publish(control, abortMessage('T1', 'before'));
      await bus.flush();
      subscription.unsubscribe();
      subscription.unsubscribe();
      await bus.publish(control, abortMessage('T1', 'after'));
      await bus.flush();
      expect(dropped.map((r) => reasonOf(r.message))).toEqual(['before']);
      expect(kept.map((r) => reasonOf(r.message))).toEqual(['before', 'after']);
    });

    it('rejects an invalid message on publish, naming the subject and the field, and delivers nothing', async () => {
      const events = subject({ kind: 'events', taskId: 'T1', event: 'task.state' });
      const received = collect(subject({ kind: 'events.all' }));
      const missingState = { type: 'task.state', taskId: 'T1', at: 1, attempt: 0 } as unknown as BusMessage;
      const publishing = bus.publish(events, missingState);
      await expect(publishing).rejects.toThrow(TypeError);
      await expect(publishing).rejects.toThrow(`${events}: invalid events message: state:`);
      await bus.flush();
      expect(received).toEqual([]);
    });

    it('rejects a message of another channel, and a subject that is no tandem channel', async () => {
      const events = subject({ kind: 'events', taskId: 'T1', event: 'task.abort' });
      await expect(bus.publish(events, abortMessage('T1'))).rejects.toThrow(`${events}: invalid events message: type:`);
      await expect(bus.publish('tandem.v1.nowhere', abortMessage('T1'))).rejects.toThrow('no tandem channel for subject "tandem.v1.nowhere"');
      await expect(bus.publish('tandem.v1.control.*', abortMessage('T1'))).rejects.toThrow(TypeError);
    });

    it('gives every subscriber its own copy of the message', async () => {
      const control = subject({ kind: 'control', taskId: 'T1' });
      const seenBySecond: BusMessage[] = [];
      bus.subscribe(control, (message) => {
        (message as { reason?: string }).reason = 'changed by a subscriber';
      });
      bus.subscribe(control, (message) => void seenBySecond.push(message));
      const sent = abortMessage('T1', 'original');
      await bus.publish(control, sent);
      sent.taskId = 'changed-by-publisher';
      await bus.flush();
      expect(seenBySecond).toEqual([abortMessage('T1', 'original')]);
    });

    it('keeps delivering when a handler throws or rejects', async () => {
      const control = subject({ kind: 'control', taskId: 'T1' });
      const throwing: string[] = [];
      const rejecting: string[] = [];
      bus.subscribe(control, (message) => {
        throwing.push(reasonOf(message));
        throw new Error('handler failed on purpose');
      });
      bus.subscribe(control, async (message) => {
        rejecting.push(reasonOf(message));
        await Promise.resolve();
        throw new Error('async handler failed on purpose');
      });
      const healthy = collect(control);
      await bus.publish(control, abortMessage('T1', 'one'));
      await bus.publish(control, abortMessage('T1', 'two'));
      await bus.flush();
      expect(throwing).toEqual(['one', 'two']);
      expect(rejecting).toEqual(['one', 'two']);
      expect(healthy.map((r) => reasonOf(r.message))).toEqual(['one', 'two']);
    });

    it('flush waits for async handlers of everything published so far', async () => {
      await bus.flush();
      const control = subject({ kind: 'control', taskId: 'T1' });
      const done: string[] = [];
      bus.subscribe(control, async (message) => {
        await delay(20);
        done.push(reasonOf(message));
      });
      await bus.publish(control, abortMessage('T1', 'slow'));
      await bus.flush();
      expect(done).toEqual(['slow']);
    });

    it('close makes publish reject with StoreError("unavailable"), and a second close is harmless', async () => {
      const control = subject({ kind: 'control', taskId: 'T1' });
      const received = collect(control);
      await bus.close();
      await bus.close();
      const publishing = bus.publish(control, abortMessage('T1'));
      await expect(publishing).rejects.toThrow(StoreError);
      await expect(publishing).rejects.toMatchObject({ code: 'unavailable' });
      expect(received).toEqual([]);
    });
  });
}

function reasonOf(message: BusMessage): string {
  return message.type === 'task.abort' ? (message.reason ?? '') : message.type;
}

function attemptOf(message: BusMessage): number {
  return Number(reasonOf(message));
}
