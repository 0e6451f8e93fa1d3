import { createActor } from 'xstate';
import { describe, expect, it } from 'vitest';
import { lifecycleState, supervisorMachine } from '../../src/machines/supervisor.js';
import type { SupervisorContext, SupervisorInput } from '../../src/machines/supervisor-context.js';
import type { ImplementInput, ValidateInput } from '../../src/model/role-contracts.js';
import { TaskSpecSchema } from '../../src/model/task-spec.js';
import {
  codeReview,
  controllableActors,
  failed,
  findingsAnswer,
  gateReport,
  implementation,
  ok,
  planReview,
  supervisorInput,
  twoStepPlan,
  validation,
} from '../helpers/supervisor-fixtures.js';

/** The validator after the last step (seeds 000/001), driven through the chart with fake actors (`.provide()`). */

const validating = { minConfidence: 0.5, maxRounds: 2 };

function start(limits: Parameters<typeof supervisorInput>[0] = {}, input: Partial<SupervisorInput> = {}) {
  const control = controllableActors();
  const machine = supervisorMachine.provide({ actors: control.actors });
  const actor = createActor(machine, { input: { ...supervisorInput({ validation: validating, ...limits }), ...input } });
  actor.start();
  const state = (): string => lifecycleState(actor.getSnapshot());
  const context = (): SupervisorContext => actor.getSnapshot().context;
  return { actor, control, machine, state, context };
}

type Started = ReturnType<typeof start>;

async function toFirstStep(t: Started): Promise<void> {
  await t.control.settle('prepare', { output: { worktreePath: '/wt', branch: 'tandem/T1' } });
  await t.control.settle('plan', { output: ok(twoStepPlan) });
  await t.control.settle('reviewPlan', { output: planReview('approved') });
}

/** One attempt of the current step that passes review and gate, committed as `sha`. */
async function passStep(t: Started, fingerprint: string, sha: string): Promise<ImplementInput> {
  const input = (await t.control.settle('implement', { output: implementation(fingerprint) })) as ImplementInput;
  await t.control.settle('reviewCode', { output: codeReview('approved') });
  await t.control.settle('gate', { output: gateReport(true) });
  await t.control.settle('commit', { output: { sha } });
  return input;
}

async function toValidation(t: Started): Promise<void> {
  await toFirstStep(t);
  await passStep(t, 'fp-S1', 'sha-S1');
  await passStep(t, 'fp-S2', 'sha-S2');
}

describe('supervisor machine: validation of the branch after the last step', () => {
  it('validates the whole branch after the last commit, then is DONE with the verdict kept', async () => {
    const t = start();
    await toValidation(t);
    expect(t.state()).toBe('VALIDATING');
    expect(t.control.open()).toEqual(['validate']);
    const input = (await t.control.settle('validate', { output: validation({ confidence: 0.8 }) })) as ValidateInput;
    expect(input).toMatchObject({ baseCommit: 'abc123', worktreePath: '/wt', call: 1, findings: [], authorModel: 'anthropic/author' });
    expect(input.plan.steps.map((s) => s.id)).toEqual(['S1', 'S2']);
    expect(t.state()).toBe('DONE');
    expect(t.context().validation).toEqual({ pass: true, issues: [], confidence: 0.8, escalate: false, model: 'openai/validator', call: 1 });
    expect(t.context().commits.map((c) => c.sha)).toEqual(['sha-S1', 'sha-S2']);
    expect(t.context().validating).toBe(false);
  });

  it('sends a failed validation back to the implementer with its issues, as the next attempt of the last step, then validates again', async () => {
    const t = start();
    await toValidation(t);
    await t.control.settle('validate', { output: validation({ pass: false, confidence: 0.9, issues: ['the README is not updated', 'no test for --task'] }) });
    expect(t.state()).toBe('IMPLEMENTING');
    expect(t.context().validationRounds).toBe(1);
    const fix = await passStep(t, 'fp-S2-fix', 'sha-S2-fix');
    expect(fix.step.id).toBe('S2');
    // The last step's attempt 1 made sha-S2; the fix-up is attempt 2, so its commit is a new one.
    expect(fix.attempt).toBe(2);
    expect(fix.feedback).toContain('The validator checked the whole branch');
    expect(fix.feedback).toContain('- the README is not updated\n- no test for --task');
    expect(t.state()).toBe('VALIDATING');
    const second = (await t.control.settle('validate', { output: validation() })) as ValidateInput;
    expect(second.call).toBe(2);
    expect(t.state()).toBe('DONE');
    expect(t.context().commits.map((c) => c.sha)).toEqual(['sha-S1', 'sha-S2', 'sha-S2-fix']);
    expect(t.context().validation).toMatchObject({ pass: true, call: 2 });
  });

  it('asks a person once the fix-up rounds are spent', async () => {
    const t = start({ validation: { minConfidence: 0.5, maxRounds: 1 } });
    await toValidation(t);
    await t.control.settle('validate', { output: validation({ pass: false, issues: ['still wrong'] }) });
    await passStep(t, 'fp-fix', 'sha-fix');
    await t.control.settle('validate', { output: validation({ pass: false, issues: ['still wrong'] }) });
    expect(t.state()).toBe('AWAITING_HUMAN_REVIEW');
    expect(t.context().waiting).toEqual({
      stage: 'validate',
      kind: 'attempts_exhausted',
      reason: 'the branch still fails validation after 1 fix-up: still wrong',
    });
  });

  it('waits for a person when the validator escalates, even on a pass; approving finishes the task as it is', async () => {
    const t = start();
    await toValidation(t);
    await t.control.settle('validate', { output: validation({ pass: true, escalate: true, issues: ['the goal is ambiguous'] }) });
    expect(t.state()).toBe('AWAITING_HUMAN_REVIEW');
    expect(t.context().waiting).toEqual({
      stage: 'validate',
      kind: 'validation',
      reason: 'the validator asks for a person (pass at confidence 0.9): the goal is ambiguous',
    });
    t.actor.send({ type: 'REVIEW', decision: { decision: 'approve' } });
    expect(t.state()).toBe('DONE');
    expect(t.control.open()).toEqual([]);
    // Approving never commits again: the branch is the one that was validated.
    expect(t.context().commits.map((c) => c.sha)).toEqual(['sha-S1', 'sha-S2']);
  });

  it('waits for a person on a verdict below the confidence threshold; feedback is a fix-up with the person text', async () => {
    const t = start();
    await toValidation(t);
    await t.control.settle('validate', { output: validation({ pass: false, confidence: 0.3, issues: ['maybe a bug'] }) });
    expect(t.state()).toBe('AWAITING_HUMAN_REVIEW');
    expect(t.context().waiting?.reason).toBe('the validator is not sure enough (fail at confidence 0.3, below 0.5): maybe a bug');
    t.actor.send({ type: 'REVIEW', decision: { decision: 'feedback', text: 'rename the flag' } });
    expect(t.state()).toBe('IMPLEMENTING');
    const fix = (await t.control.settle('implement', { output: implementation('fp-person') })) as ImplementInput;
    expect(fix.step.id).toBe('S2');
    expect(fix.attempt).toBe(2);
    expect(fix.feedback).toContain('rename the flag');
    expect(t.context().validating).toBe(false);
  });

  it('retries a validator call that failed, then asks a person at stage validate', async () => {
    const t = start({ maxAttempts: 2 });
    await toValidation(t);
    await t.control.settle('validate', { output: failed('bad_output') });
    expect(t.state()).toBe('VALIDATING');
    const again = (await t.control.settle('validate', { output: failed('bad_output') })) as ValidateInput;
    expect(again.call).toBe(2);
    expect(t.state()).toBe('AWAITING_HUMAN_REVIEW');
    expect(t.context().waiting).toMatchObject({ stage: 'validate', kind: 'role_failed' });
    expect(t.context().waiting?.reason).toContain('the validator failed 2 times');
  });

  it('a task restored while validating calls the validator again with the same input', async () => {
    const t = start();
    await toValidation(t);
    const first = t.control.pending.find((p) => p.name === 'validate')?.input;
    const saved = t.actor.getPersistedSnapshot();
    t.actor.stop();

    const control = controllableActors();
    const restored = createActor(supervisorMachine.provide({ actors: control.actors }), { snapshot: saved, input: supervisorInput() });
    restored.start();
    expect(lifecycleState(restored.getSnapshot())).toBe('VALIDATING');
    expect(control.open()).toEqual(['validate']);
    const input = await control.settle('validate', { output: validation() });
    expect(input).toEqual(first);
    expect(lifecycleState(restored.getSnapshot())).toBe('DONE');
  });

  it('gives the validator the findings of an analysis task', async () => {
    const task = TaskSpecSchema.parse({ id: 'T1', goal: 'find the risky parts', type: 'analyze' });
    const t = start({}, { task });
    await t.control.settle('prepare', { output: { worktreePath: '/wt', branch: 'tandem/T1' } });
    await t.control.settle('plan', { output: ok({ ...twoStepPlan, steps: twoStepPlan.steps.slice(0, 1) }) });
    await t.control.settle('reviewPlan', { output: planReview('approved') });
    await t.control.settle('implement', { output: findingsAnswer() });
    await t.control.settle('commit', { output: {} });
    const input = (await t.control.settle('validate', { output: validation() })) as ValidateInput;
    expect(input.findings.map((f) => [f.stepId, f.report.summary])).toEqual([['S1', 'two findings']]);
    expect(t.state()).toBe('DONE');
  });

  it('skips validation when the limits have none (a guard a test can replace too)', async () => {
    const off = start({ validation: undefined });
    await toValidation(off);
    expect(off.state()).toBe('DONE');
    expect(off.context().validation).toBeUndefined();

    const control = controllableActors();
    const machine = supervisorMachine.provide({ actors: control.actors, guards: { validationEnabled: () => false } });
    const actor = createActor(machine, { input: supervisorInput({ validation: validating }) });
    actor.start();
    const t = { actor, control, machine, state: () => lifecycleState(actor.getSnapshot()), context: () => actor.getSnapshot().context };
    await toValidation(t);
    expect(t.state()).toBe('DONE');
  });
});
