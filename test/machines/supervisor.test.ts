import { createActor } from 'xstate';
import { describe, expect, it } from 'vitest';
import { lifecycleState, supervisorMachine } from '../../src/machines/supervisor.js';
import { type SupervisorContext } from '../../src/machines/supervisor-context.js';
import {
  codeReview,
  controllableActors,
  failed,
  environmentGateReport,
  gateReport,
  implementation,
  ok,
  planReview,
  rateLimited,
  supervisorInput,
  twoStepPlan,
} from '../helpers/supervisor-fixtures.js';

function start(limits: Parameters<typeof supervisorInput>[0] = {}) {
  const control = controllableActors();
  const actor = createActor(supervisorMachine.provide({ actors: control.actors }), { input: supervisorInput(limits) });
  actor.start();
  const state = (): string => lifecycleState(actor.getSnapshot());
  const context = (): SupervisorContext => actor.getSnapshot().context;
  return { actor, control, state, context };
}

async function toFirstStep(t: ReturnType<typeof start>): Promise<void> {
  await t.control.settle('prepare', { output: { worktreePath: '/wt', branch: 'tandem/T1' } });
  await t.control.settle('plan', { output: ok(twoStepPlan) });
  await t.control.settle('reviewPlan', { output: planReview('approved') });
}

describe('supervisor machine', () => {
  it('runs plan → review → two steps → DONE, committing each step with its trailers', async () => {
    const t = start();
    expect(t.state()).toBe('NEW');
    await toFirstStep(t);
    expect(t.state()).toBe('IMPLEMENTING');
    for (const stepId of ['S1', 'S2']) {
      const input = (await t.control.settle('implement', { output: implementation(`fp-${stepId}`) })) as { step: { id: string }; attempt: number };
      expect(input.step.id).toBe(stepId);
      expect(input.attempt).toBe(1);
      await t.control.settle('reviewCode', { output: codeReview('approved') });
      await t.control.settle('gate', { output: gateReport(true) });
      expect(t.state()).toBe('STEP_COMPLETE');
      const commit = (await t.control.settle('commit', { output: { sha: `sha-${stepId}` } })) as { trailers: Record<string, string>; skip: boolean };
      expect(commit.skip).toBe(false);
      expect(commit.trailers).toEqual({ 'Tandem-Implementer': 'anthropic/author', 'Tandem-Reviewer': 'google/reviewer', 'Tandem-Gate': '1/1 checks passed' });
    }
    expect(t.state()).toBe('DONE');
    expect(t.context().commits).toEqual([
      { stepId: 'S1', sha: 'sha-S1' },
      { stepId: 'S2', sha: 'sha-S2' },
    ]);
    expect(t.context().costUsd).toBeCloseTo(0.01 * 2 + 0.01 * 4, 10);
  });

  it('feeds the plan review back to the planner and waits for a person after the last round', async () => {
    const t = start({ maxPlanRounds: 2 });
    await t.control.settle('prepare', { output: { worktreePath: '/wt', branch: 'b' } });
    await t.control.settle('plan', { output: ok(twoStepPlan) });
    await t.control.settle('reviewPlan', { output: planReview('needs_revision') });
    expect(t.state()).toBe('PLANNING');
    const second = (await t.control.settle('plan', { output: ok(twoStepPlan) })) as { round: number; call: number; feedback: string };
    expect(second.round).toBe(2);
    expect(second.call).toBe(2);
    expect(second.feedback).toContain('Missing steps:\n- add tests');
    await t.control.settle('reviewPlan', { output: planReview('needs_revision') });
    expect(t.state()).toBe('AWAITING_HUMAN_REVIEW');
    expect(t.context().waiting).toMatchObject({ stage: 'plan', kind: 'plan_rounds_exhausted' });
  });

  it('sends code review changes back to the implementer as feedback on the next attempt', async () => {
    const t = start();
    await toFirstStep(t);
    await t.control.settle('implement', { output: implementation('a') });
    await t.control.settle('reviewCode', { output: codeReview('needs_changes') });
    expect(t.state()).toBe('IMPLEMENTING');
    const retry = (await t.control.settle('implement', { output: implementation('b') })) as { attempt: number; feedback: string };
    expect(retry.attempt).toBe(2);
    expect(retry.feedback).toBe('The code reviewer answered "needs_changes".\nRequired changes:\n- handle empty input');
  });

  it('sends the failing gate excerpt back and escalates after three attempts', async () => {
    const t = start();
    await toFirstStep(t);
    for (let attempt = 1; attempt <= 3; attempt++) {
      await t.control.settle('implement', { output: implementation(`fp${attempt}`) });
      await t.control.settle('reviewCode', { output: codeReview('approved') });
      await t.control.settle('gate', { output: gateReport(false, `failure ${attempt}`) });
    }
    expect(t.state()).toBe('AWAITING_HUMAN_REVIEW');
    expect(t.context().waiting).toMatchObject({ stage: 'step', kind: 'attempts_exhausted' });
    expect(t.context().feedback).toContain('failure 3');
  });

  it('escalates as no progress when the same diff comes back twice in a row', async () => {
    const t = start();
    await toFirstStep(t);
    await t.control.settle('implement', { output: implementation('same') });
    await t.control.settle('reviewCode', { output: codeReview('needs_changes') });
    await t.control.settle('implement', { output: implementation('same') });
    expect(t.state()).toBe('AWAITING_HUMAN_REVIEW');
    expect(t.context().waiting?.kind).toBe('no_progress');
  });

  it('escalates as no progress when the gate fails the same way twice in a row', async () => {
    const t = start();
    await toFirstStep(t);
    for (const fp of ['x', 'y']) {
      await t.control.settle('implement', { output: implementation(fp) });
      await t.control.settle('reviewCode', { output: codeReview('approved') });
      await t.control.settle('gate', { output: gateReport(false, 'same failure') });
    }
    expect(t.state()).toBe('AWAITING_HUMAN_REVIEW');
    expect(t.context().waiting?.kind).toBe('no_progress');
  });

  it('asks a person, without spending an attempt, when the gate reports an environment problem', async () => {
    const t = start();
    await toFirstStep(t);
    await t.control.settle('implement', { output: implementation('x') });
    await t.control.settle('reviewCode', { output: codeReview('approved') });
    await t.control.settle('gate', { output: environmentGateReport() });
    expect(t.state()).toBe('AWAITING_HUMAN_REVIEW');
    expect(t.context().attempt).toBe(1);
    expect(t.context().waiting).toEqual({
      stage: 'step',
      kind: 'environment',
      reason:
        'the quality gate could not run on this machine, which no change of code can fix: test: sh: 1: pytest: not found (fix: install `pytest` or put it on PATH for tandem)',
    });
  });

  it('pauses on a rate limit and resumes the same state after the wait', async () => {
    const t = start();
    await toFirstStep(t);
    await t.control.settle('implement', { output: rateLimited(60_000, 123_456) });
    expect(t.state()).toBe('PAUSED');
    expect(t.context().pause).toEqual({ until: 123_456, resume: 'IMPLEMENTING', reason: 'rate limited by anthropic/author' });
    const wait = (await t.control.settle('wait', { output: undefined })) as { until: number };
    expect(wait.until).toBe(123_456);
    expect(t.state()).toBe('IMPLEMENTING');
    expect(t.context().attempt).toBe(1);
  });

  it('asks a person when a rate limit resets later than the longest allowed pause', async () => {
    const t = start({ maxPauseMs: 1_000 });
    await t.control.settle('prepare', { output: { worktreePath: '/wt', branch: 'b' } });
    await t.control.settle('plan', { output: rateLimited(5_000, 5_000) });
    expect(t.state()).toBe('AWAITING_HUMAN_REVIEW');
    expect(t.context().waiting).toMatchObject({ stage: 'plan', kind: 'rate_limit' });
  });

  it('fails the task when the workspace cannot be prepared', async () => {
    const t = start();
    await t.control.settle('prepare', { error: new Error('not a git repository') });
    expect(t.state()).toBe('FAILED');
    expect(t.context().failure).toBe('cannot prepare the workspace: not a git repository');
  });

  it('applies a person’s decisions: feedback retries, skip moves on without a commit, abort ends', async () => {
    const t = start({ maxAttempts: 1 });
    await toFirstStep(t);
    await t.control.settle('implement', { output: failed() });
    expect(t.state()).toBe('AWAITING_HUMAN_REVIEW');
    t.actor.send({ type: 'REVIEW', decision: { decision: 'feedback', text: 'use a Map' } });
    expect(t.state()).toBe('IMPLEMENTING');
    const retry = (await t.control.settle('implement', { output: failed() })) as { feedback: string; attempt: number };
    expect(retry.feedback).toBe('A person reviewed your change and says:\nuse a Map');
    expect(retry.attempt).toBe(2);
    t.actor.send({ type: 'REVIEW', decision: { decision: 'skip_step' } });
    expect(t.state()).toBe('STEP_COMPLETE');
    const commit = (await t.control.settle('commit', { output: {} })) as { skip: boolean };
    expect(commit.skip).toBe(true);
    expect(t.context().stepIndex).toBe(1);
    expect(t.context().commits).toEqual([]);
    await t.control.settle('implement', { output: failed() });
    t.actor.send({ type: 'REVIEW', decision: { decision: 'abort' } });
    expect(t.state()).toBe('ABORTED');
    expect(t.context().failure).toBe('aborted by a person');
  });

  it('approve on a waiting step commits the current changes as approved by a person', async () => {
    const t = start({ maxAttempts: 1 });
    await toFirstStep(t);
    await t.control.settle('implement', { output: implementation('a') });
    await t.control.settle('reviewCode', { output: codeReview('rejected') });
    expect(t.context().waiting?.kind).toBe('attempts_exhausted');
    t.actor.send({ type: 'REVIEW', decision: { decision: 'approve' } });
    const commit = (await t.control.settle('commit', { output: { sha: 's' } })) as { trailers: Record<string, string> };
    expect(commit.trailers['Tandem-Reviewer']).toBe('person');
    expect(t.state()).toBe('IMPLEMENTING');
  });

  it('approve on a rejected plan continues with that plan', async () => {
    const t = start();
    await t.control.settle('prepare', { output: { worktreePath: '/wt', branch: 'b' } });
    await t.control.settle('plan', { output: ok(twoStepPlan) });
    await t.control.settle('reviewPlan', { output: planReview('rejected') });
    expect(t.context().waiting?.kind).toBe('plan_rejected');
    t.actor.send({ type: 'REVIEW', decision: { decision: 'skip_step' } });
    expect(t.state()).toBe('AWAITING_HUMAN_REVIEW');
    t.actor.send({ type: 'REVIEW', decision: { decision: 'approve' } });
    expect(t.state()).toBe('IMPLEMENTING');
  });

  it('ABORT ends the task from any running state and stops the running actor', async () => {
    const t = start();
    await t.control.settle('prepare', { output: { worktreePath: '/wt', branch: 'b' } });
    expect(t.control.open()).toEqual(['plan']);
    t.actor.send({ type: 'ABORT', reason: 'user pressed ctrl-c' });
    expect(t.state()).toBe('ABORTED');
    expect(t.control.open()).toEqual([]);
  });

  it('ESCALATE (time limit) moves a running step to a person, and is ignored while waiting', async () => {
    const t = start();
    await toFirstStep(t);
    t.actor.send({ type: 'ESCALATE', kind: 'time_limit', reason: 'too long' });
    expect(t.state()).toBe('AWAITING_HUMAN_REVIEW');
    expect(t.context().waiting).toEqual({ stage: 'step', kind: 'time_limit', reason: 'too long' });
    t.actor.send({ type: 'ESCALATE', kind: 'budget', reason: 'again' });
    expect(t.context().waiting?.kind).toBe('time_limit');
  });

  it('restores from a persisted snapshot and re-invokes the in-flight actor with the same input', async () => {
    const t = start();
    await toFirstStep(t);
    const persisted = t.actor.getPersistedSnapshot();
    t.actor.stop();
    const control = controllableActors();
    const restored = createActor(supervisorMachine.provide({ actors: control.actors }), { snapshot: persisted, input: supervisorInput() });
    restored.start();
    expect(lifecycleState(restored.getSnapshot())).toBe('IMPLEMENTING');
    expect(control.open()).toEqual(['implement']);
    const input = (await control.settle('implement', { output: implementation('z') })) as { step: { id: string }; attempt: number };
    expect(input).toMatchObject({ step: { id: 'S1' }, attempt: 1 });
    expect(lifecycleState(restored.getSnapshot())).toBe('CODE_REVIEW');
  });
});
