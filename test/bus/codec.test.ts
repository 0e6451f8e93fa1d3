import { describe, expect, it } from 'vitest';
import { channelOf, decodeMessage, encodeMessage } from '../../src/bus/codec.js';
import { subject } from '../../src/bus/subjects.js';
import { abortMessage, stateEvent, submitMessage } from '../../src/testing/bus-conformance.js';

const events = subject({ kind: 'events', taskId: 'T1', event: 'task.state' });
const control = subject({ kind: 'control', taskId: 'T1' });
const submit = subject({ kind: 'tasks.submit' });
const role = subject({ kind: 'role.run', role: 'planner' });

describe('channelOf', () => {
  it('names the channel of every subject the builder makes', () => {
    expect([channelOf(events), channelOf(control), channelOf(submit), channelOf(role)]).toEqual(['events', 'control', 'submit', 'role']);
  });

  it('knows no channel for wildcards, other versions, or the wrong number of tokens', () => {
    const subjects = [
      subject({ kind: 'events.all' }),
      subject({ kind: 'events.task', taskId: 'T1' }),
      subject({ kind: 'control.all' }),
      'tandem.v2.control.T1',
      'tandem.v1.events.T1',
      'tandem.v1.events.T1.task_state.extra',
      'tandem.v1.control.T1.extra',
      'tandem.v1.tasks.submit.now',
      'tandem.v1.role.planner',
      'tandem.v1.role.planner.stop',
      'tandem.v1.control..T1',
      'tandem.v1',
      '',
    ];
    expect(subjects.map(channelOf)).toEqual(subjects.map(() => undefined));
  });
});

describe('decodeMessage', () => {
  it('decodes what encodeMessage encoded, from bytes and from a string', () => {
    const bytes = encodeMessage(stateEvent('T1'));
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(decodeMessage(events, bytes)).toEqual({ ok: true, message: stateEvent('T1') });
    expect(decodeMessage(control, JSON.stringify(abortMessage('T1', 'why')))).toEqual({ ok: true, message: abortMessage('T1', 'why') });
    expect(decodeMessage(submit, encodeMessage(submitMessage('S1')))).toEqual({ ok: true, message: submitMessage('S1') });
  });

  it('fills in the schema defaults of a submitted task', () => {
    const result = decodeMessage(submit, JSON.stringify({ type: 'task.submit', repo: '.', at: 1, spec: { id: 'S1', goal: 'do it' } }));
    expect(result.ok && result.message.type === 'task.submit' ? result.message.spec.risk : 'not decoded').toBe('medium');
  });

  it('names the subject and the first invalid field', () => {
    const badState = { ...stateEvent('T1'), state: 'SLEEPING' };
    expect(decodeMessage(events, JSON.stringify(badState))).toEqual({
      ok: false,
      reason: expect.stringMatching(/^tandem\.v1\.events\.T1\.task_state: invalid events message: state: Invalid option/) as unknown,
    });
    const badCheck = {
      type: 'gate.finished',
      taskId: 'T1',
      at: 1,
      stepId: 's1',
      attempt: 1,
      passed: true,
      summary: '',
      duration_ms: 1,
      checks: [{ name: 7, passed: true, duration_ms: 1 }],
    };
    expect(decodeMessage(events, JSON.stringify(badCheck))).toEqual({
      ok: false,
      reason: `${events}: invalid events message: checks[0].name: Invalid input: expected string, received number`,
    });
    const extraSpecKey = { ...submitMessage('S1'), spec: { id: 'S1', goal: 'x', surprise: true } };
    expect(decodeMessage(submit, JSON.stringify(extraSpecKey))).toEqual({
      ok: false,
      reason: `${submit}: invalid submit message: spec: Unrecognized key: "surprise"`,
    });
  });

  it('refuses a message of another channel by its type', () => {
    const result = decodeMessage(control, JSON.stringify(stateEvent('T1')));
    expect(result).toEqual({
      ok: false,
      reason: expect.stringMatching(/^tandem\.v1\.control\.T1: invalid control message: type: Invalid discriminator value/) as unknown,
    });
  });

  it('returns malformed input as a reason instead of throwing', () => {
    expect(decodeMessage(control, '{"type":')).toEqual({ ok: false, reason: expect.stringMatching(/^tandem\.v1\.control\.T1: not JSON: /) as unknown });
    expect(decodeMessage(control, new Uint8Array([0xff, 0xfe]))).toEqual({
      ok: false,
      reason: expect.stringMatching(/^tandem\.v1\.control\.T1: not JSON: /) as unknown,
    });
    expect(decodeMessage(control, 'null')).toEqual({
      ok: false,
      reason: `${control}: invalid control message: (message): Invalid input: expected object, received null`,
    });
    expect(decodeMessage('nats.other', '{}')).toEqual({ ok: false, reason: 'no tandem channel for subject "nats.other"' });
    expect(decodeMessage(role, '{}')).toEqual({
      ok: false,
      reason: `${role}: invalid role message: type: Invalid discriminator value. Expected 'role.plan' | 'role.reviewPlan' | 'role.implement' | 'role.reviewCode' | 'role.validate' | 'role.gate'`,
    });
    // A role call whose input does not fit its work is refused before a service spends a model call on it.
    const badInput = {
      type: 'role.gate',
      taskId: 'T1',
      key: 'T1.3.gate',
      at: 1,
      input: { taskId: 'T1', stepId: 'S1', attempt: 0, worktreePath: '/w', baseCommit: 'abc' },
    };
    expect(decodeMessage(role, JSON.stringify(badInput))).toEqual({
      ok: false,
      reason: `${role}: invalid role message: input.attempt: Too small: expected number to be >0`,
    });
    const results = subject({ kind: 'results', taskId: 'T1' });
    expect(decodeMessage(results, JSON.stringify({ type: 'role.result', taskId: 'T1', key: 'T1.3.gate', at: 1 }))).toMatchObject({ ok: true });
    expect(decodeMessage(results, JSON.stringify({ type: 'role.result', taskId: 'T1', key: 'no spaces allowed', at: 1 }))).toMatchObject({ ok: false });
  });
});
