import { createActor } from 'xstate';
import { describe, expect, it } from 'vitest';
import type { RoleResult } from '../../src/model/role-contracts.js';
import { lifecycleState, supervisorMachine } from '../../src/machines/supervisor.js';
import { authorModel, controllableActors, implementation, ok, planReview, supervisorInput, twoStepPlan } from '../helpers/supervisor-fixtures.js';

const overBudget: RoleResult<never> = {
  ok: false,
  kind: 'budget',
  error: 'the daily budget of $5.00 would be exceeded: $4.99 spent + $0.07 estimated for this call',
  model: authorModel,
  costUsd: 0,
};

function start() {
  const control = controllableActors();
  const actor = createActor(supervisorMachine.provide({ actors: control.actors }), { input: supervisorInput() });
  actor.start();
  return { actor, control, state: () => lifecycleState(actor.getSnapshot()), context: () => actor.getSnapshot().context };
}

describe('supervisor: budget stops', () => {
  it('waits for a person with kind budget, spending no attempt; raise_budget re-runs the stopped call with the grant', async () => {
    const t = start();
    await t.control.settle('prepare', { output: { worktreePath: '/wt', branch: 'b' } });
    await t.control.settle('plan', { output: ok(twoStepPlan) });
    await t.control.settle('reviewPlan', { output: planReview('approved') });
    await t.control.settle('implement', { output: overBudget });
    expect(t.state()).toBe('AWAITING_HUMAN_REVIEW');
    expect(t.context().waiting).toEqual({ stage: 'step', kind: 'budget', reason: overBudget.ok ? '' : overBudget.error, resume: 'IMPLEMENTING' });
    expect(t.context().stepFailures).toBe(0);

    t.actor.send({ type: 'REVIEW', decision: { decision: 'raise_budget', usd: 2.5 } });
    expect(t.state()).toBe('IMPLEMENTING');
    expect(t.context().waiting).toBeUndefined();
    const retry = (await t.control.settle('implement', { output: implementation('a') })) as { attempt: number; budgetGrantUsd: number };
    expect(retry).toMatchObject({ attempt: 1, budgetGrantUsd: 2.5 });
    // A second stop and raise add up.
    await t.control.settle('reviewCode', { output: overBudget });
    expect(t.context().waiting).toMatchObject({ kind: 'budget', resume: 'CODE_REVIEW' });
    t.actor.send({ type: 'REVIEW', decision: { decision: 'raise_budget', usd: 1 } });
    expect(t.state()).toBe('CODE_REVIEW');
    expect(t.control.pending[0]?.input).toMatchObject({ budgetGrantUsd: 3.5 });
  });

  it('resumes a budget stop of the plan where it stopped; other decisions still work', async () => {
    const t = start();
    await t.control.settle('prepare', { output: { worktreePath: '/wt', branch: 'b' } });
    await t.control.settle('plan', { output: ok(twoStepPlan) });
    await t.control.settle('reviewPlan', { output: overBudget });
    expect(t.context().waiting).toMatchObject({ stage: 'plan', kind: 'budget', resume: 'PLAN_REVIEW' });
    t.actor.send({ type: 'REVIEW', decision: { decision: 'raise_budget', usd: 1 } });
    expect(t.state()).toBe('PLAN_REVIEW');
    await t.control.settle('reviewPlan', { output: overBudget });
    t.actor.send({ type: 'REVIEW', decision: { decision: 'abort' } });
    expect(t.state()).toBe('ABORTED');
  });

  it('ignores raise_budget while waiting for another reason', async () => {
    const t = start();
    await t.control.settle('prepare', { output: { worktreePath: '/wt', branch: 'b' } });
    await t.control.settle('plan', { output: ok(twoStepPlan) });
    await t.control.settle('reviewPlan', { output: planReview('rejected') });
    expect(t.context().waiting?.kind).toBe('plan_rejected');
    t.actor.send({ type: 'REVIEW', decision: { decision: 'raise_budget', usd: 1 } });
    expect(t.state()).toBe('AWAITING_HUMAN_REVIEW');
    expect(t.context().budgetGrantUsd).toBeUndefined();
  });
});
