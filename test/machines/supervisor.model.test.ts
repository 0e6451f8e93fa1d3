import { getAdjacencyMap } from '@xstate/graph';
import { createActor, type ActorLogic, type EventObject } from 'xstate';
import { describe, expect, it } from 'vitest';
import { lifecycleState, supervisorMachine, type SupervisorSnapshot } from '../../src/machines/supervisor.js';
import { type SupervisorEvent } from '../../src/machines/supervisor-context.js';
import { TIME_LIMIT_EVENT } from '../../src/machines/time-limit.js';
import type { RoleResult } from '../../src/model/role-contracts.js';
import {
  authorModel,
  codeReview,
  controllableActors,
  failed,
  findingsAnswer,
  environmentGateReport,
  gateReport,
  implementation,
  ok,
  planReview,
  rateLimited,
  supervisorInput,
  twoStepPlan,
  validation,
} from '../helpers/supervisor-fixtures.js';

/**
 * Model-based test: @xstate/graph explores every state the lifecycle can reach under every
 * outcome of its actors and every decision of a person; then each explored transition is replayed
 * against a real actor whose effects are controllable fakes, checking it lands where the model says.
 */

const limits = { maxAttempts: 2, maxPlanRounds: 2, maxPauseMs: 5_000, validation: { minConfidence: 0.5, maxRounds: 1 } };
const input = supervisorInput(limits);

type ModelEvent = EventObject & Readonly<Record<string, unknown>>;
interface Adjacency {
  readonly [serialized: string]: {
    readonly state: SupervisorSnapshot;
    readonly transitions: Readonly<Record<string, { readonly event: ModelEvent; readonly state: SupervisorSnapshot }>>;
  };
}

const done = (id: string, output: unknown): ModelEvent => ({ type: `xstate.done.actor.${id}`, output });
/** The router refused the call: it would exceed a budget. */
const overBudget = (): RoleResult<never> => ({
  ok: false,
  kind: 'budget',
  error: 'the task budget of $1.00 would be exceeded',
  model: authorModel,
  costUsd: 0,
});
const error = (id: string): ModelEvent => ({ type: `xstate.error.actor.${id}`, error: new Error(`${id} broke`) });

const outcomes: Record<string, ModelEvent[]> = {
  NEW: [done('prepare', { worktreePath: '/wt', branch: 'tandem/T1' }), error('prepare')],
  PLANNING: [
    done('plan', ok(twoStepPlan)),
    // A plan without steps: the chart never enters the step states without a step (it fails instead).
    done('plan', ok({ ...twoStepPlan, steps: [] })),
    done('plan', failed('bad_output')),
    done('plan', rateLimited(1_000, 1_000)),
    done('plan', rateLimited(60_000, 60_000)),
    done('plan', overBudget()),
    error('plan'),
  ],
  PLAN_REVIEW: [
    done('reviewPlan', planReview('approved')),
    done('reviewPlan', planReview('needs_revision')),
    done('reviewPlan', planReview('rejected')),
    done('reviewPlan', failed()),
    done('reviewPlan', rateLimited(1_000, 1_000)),
    done('reviewPlan', rateLimited(60_000, 60_000)),
    done('reviewPlan', overBudget()),
    error('reviewPlan'),
  ],
  IMPLEMENTING: [
    done('implement', implementation('a')),
    done('implement', implementation('b')),
    // A report step: findings instead of a diff, straight to STEP_COMPLETE.
    done('implement', findingsAnswer()),
    // A code step without a real change comes back as a failed attempt.
    done('implement', failed('no_progress')),
    done('implement', failed('timeout')),
    done('implement', rateLimited(1_000, 1_000)),
    done('implement', rateLimited(60_000, 60_000)),
    done('implement', overBudget()),
    error('implement'),
  ],
  CODE_REVIEW: [
    done('reviewCode', codeReview('approved')),
    done('reviewCode', codeReview('needs_changes')),
    done('reviewCode', codeReview('rejected')),
    done('reviewCode', failed()),
    done('reviewCode', rateLimited(1_000, 1_000)),
    done('reviewCode', rateLimited(60_000, 60_000)),
    done('reviewCode', overBudget()),
    error('reviewCode'),
  ],
  QUALITY_GATE: [
    done('gate', gateReport(true)),
    done('gate', gateReport(false, 'A')),
    done('gate', gateReport(false, 'B')),
    done('gate', environmentGateReport()),
    error('gate'),
  ],
  STEP_COMPLETE: [done('commit', { sha: 'sha' }), error('commit')],
  VALIDATING: [
    done('validate', validation()),
    done('validate', validation({ pass: false, issues: ['no test'] })),
    done('validate', validation({ escalate: true })),
    // Below the threshold: a person decides.
    done('validate', validation({ confidence: 0.2 })),
    done('validate', failed('bad_output')),
    done('validate', rateLimited(1_000, 1_000)),
    done('validate', rateLimited(60_000, 60_000)),
    done('validate', overBudget()),
    error('validate'),
  ],
  PAUSED: [done('wait', undefined), error('wait')],
  AWAITING_HUMAN_REVIEW: [
    { type: 'REVIEW', decision: { decision: 'approve' } },
    { type: 'REVIEW', decision: { decision: 'feedback', text: 'try again' } },
    { type: 'REVIEW', decision: { decision: 'skip_step' } },
    { type: 'REVIEW', decision: { decision: 'abort' } },
    { type: 'REVIEW', decision: { decision: 'raise_budget', usd: 2 } },
  ],
};
const anytime: ModelEvent[] = [
  { type: 'ABORT', reason: 'stop' },
  { type: 'ESCALATE', kind: 'time_limit', reason: 'late' },
  // The time limit's delayed transition, fired as the actor's clock would.
  { type: TIME_LIMIT_EVENT },
];

function eventsFor(snapshot: SupervisorSnapshot): ModelEvent[] {
  if (snapshot.status !== 'active') return [];
  return [...(outcomes[lifecycleState(snapshot)] ?? []), ...anytime];
}

/**
 * The abstract state: the counters and fingerprints the guards read. Each abstract state keeps the concrete
 * snapshot it was first reached with, and replay follows that snapshot's own path, so the
 * fields left out (fingerprints, cost, the monotonic attempt) are the same on both sides.
 */
function serialize(snapshot: SupervisorSnapshot): string {
  const c = snapshot.context;
  return JSON.stringify([
    lifecycleState(snapshot),
    c.planRevisions,
    c.planFailures,
    c.planApproved,
    c.stepIndex,
    c.stepFailures,
    c.validating ?? false,
    c.validationRounds ?? 0,
    c.validationFailures ?? 0,
    c.waiting?.stage ?? '',
    c.waiting?.kind === 'budget' ? `budget:${c.waiting.resume ?? ''}` : '',
    c.pause?.resume ?? '',
    c.lastDiffFingerprint ?? '',
    c.lastFailure ?? '',
    // An empty plan takes other transitions than a plan with steps.
    c.plan?.steps.length ?? -1,
  ]);
}

function stateOf(serialized: string): string {
  return (JSON.parse(serialized) as [string])[0];
}

function describeEvent(event: EventObject): string {
  return JSON.stringify(event, (key, value: unknown) => (key === 'error' ? 'Error' : value));
}

// The model offers raw done/error events, which the machine's public event type does not list.
const adjacency = getAdjacencyMap(supervisorMachine as unknown as ActorLogic<SupervisorSnapshot, ModelEvent, typeof input>, {
  input,
  events: eventsFor,
  serializeState: serialize,
  serializeEvent: describeEvent,
  limit: 100_000,
}) as unknown as Adjacency;

/** Shortest event sequence from the initial state to each explored state. */
function shortestPaths(): Map<string, ModelEvent[]> {
  const [initial] = Object.keys(adjacency);
  if (initial === undefined) throw new Error('empty model');
  const paths = new Map<string, ModelEvent[]>([[initial, []]]);
  const queue = [initial];
  while (queue.length > 0) {
    const from = queue.shift() as string;
    const node = adjacency[from];
    if (!node) continue;
    for (const { event, state } of Object.values(node.transitions)) {
      const to = serialize(state);
      if (paths.has(to)) continue;
      paths.set(to, [...(paths.get(from) ?? []), event]);
      queue.push(to);
    }
  }
  return paths;
}

/** Identifies a transition of the machine definition: source state, event, position among its candidates. */
type TransitionLike = { source: { id: string; transitions: Map<string, unknown[]>; always?: unknown[] }; eventType: string };
function transitionKey(t: TransitionLike): string {
  const candidates = t.eventType === '' ? (t.source.always ?? []) : (t.source.transitions.get(t.eventType) ?? []);
  return `${t.source.id}|${t.eventType || 'always'}|${candidates.indexOf(t)}`;
}

function definedTransitions(): Set<string> {
  const keys = new Set<string>();
  type Node = (typeof supervisorMachine)['root'];
  const all = (node: Node): Node[] => [node, ...Object.values(node.states).flatMap(all)];
  const nodes = all(supervisorMachine.root);
  for (const node of nodes) {
    for (const [eventType, candidates] of node.transitions) candidates.forEach((_, i) => keys.add(`${node.id}|${eventType}|${i}`));
    (node.always ?? []).forEach((_, i) => keys.add(`${node.id}|always|${i}`));
  }
  return keys;
}

async function replay(events: readonly ModelEvent[], taken: Set<string>, from = input) {
  const control = controllableActors();
  const actor = createActor(supervisorMachine.provide({ actors: control.actors }), {
    input: from,
    inspect: (inspection) => {
      if (inspection.type !== '@xstate.microstep') return;
      for (const t of (inspection as unknown as { _transitions: TransitionLike[] })._transitions) taken.add(transitionKey(t));
    },
  });
  actor.start();
  for (const event of events) {
    const match = /^xstate\.(done|error)\.actor\.(.+)$/.exec(event.type);
    if (match?.[2]) {
      const outcome = match[1] === 'done' ? { output: event['output'] } : { error: event['error'] };
      await control.settle(match[2], outcome);
    } else {
      actor.send(event as unknown as SupervisorEvent);
    }
  }
  const snapshot = actor.getSnapshot();
  actor.stop();
  return snapshot;
}

describe('supervisor machine, model-based', () => {
  const paths = shortestPaths();
  const edges = Object.entries(adjacency).flatMap(([from, node]) =>
    Object.values(node.transitions).map(({ event, state }) => ({ from, event, to: serialize(state) })),
  );

  it('reaches every lifecycle state of DESIGN §3', () => {
    const reached = new Set(Object.values(adjacency).map((node) => lifecycleState(node.state)));
    expect([...reached].sort()).toEqual(
      [
        'NEW',
        'PLANNING',
        'PLAN_REVIEW',
        'IMPLEMENTING',
        'CODE_REVIEW',
        'QUALITY_GATE',
        'STEP_COMPLETE',
        'VALIDATING',
        'DONE',
        'AWAITING_HUMAN_REVIEW',
        'PAUSED',
        'FAILED',
        'ABORTED',
      ].sort(),
    );
    // PLANNED is an instant state; it is passed on every approval.
    expect(edges.some((e) => stateOf(e.to) === 'IMPLEMENTING' && stateOf(e.from) === 'PLAN_REVIEW')).toBe(true);
  });

  it('keeps the lifecycle invariants in every explored state', () => {
    const skipsOnPath = (key: string) =>
      (paths.get(key) ?? []).filter((e) => e.type === 'REVIEW' && (e['decision'] as { decision: string }).decision === 'skip_step').length;
    for (const [key, { state }] of Object.entries(adjacency)) {
      const c = state.context;
      const value = lifecycleState(state);
      const where = `${key} (path: ${(paths.get(key) ?? []).map(describeEvent).join(' → ')})`;
      // Bounded retries: failures since the last person's decision never pass the limits.
      expect(c.stepFailures, where).toBeLessThanOrEqual(limits.maxAttempts);
      expect(c.planFailures, where).toBeLessThanOrEqual(limits.maxAttempts);
      expect(c.planRevisions, where).toBeLessThanOrEqual(limits.maxPlanRounds);
      if (['PLANNING', 'PLAN_REVIEW'].includes(value)) {
        expect(c.planRevisions, where).toBeLessThan(limits.maxPlanRounds);
        expect(c.planFailures, where).toBeLessThan(limits.maxAttempts);
      }
      if (['IMPLEMENTING', 'CODE_REVIEW', 'QUALITY_GATE'].includes(value)) {
        expect(c.stepFailures, where).toBeLessThan(limits.maxAttempts);
        expect(c.planApproved, where).toBe(true);
      }
      // A task waiting for a person always says why, at the stage it stopped in.
      if (value === 'AWAITING_HUMAN_REVIEW') {
        expect(c.waiting?.reason, where).toMatch(/\S/);
        expect(c.waiting?.stage, where).toBe(c.validating ? 'validate' : c.planApproved ? 'step' : 'plan');
      } else if (state.status === 'active') {
        // A decision clears the reason, so a later stop never shows a stale one.
        expect(c.waiting, where).toBeUndefined();
      }
      if (value === 'PAUSED') expect(c.pause?.until, where).toBeGreaterThan(0);
      if (value === 'FAILED' || value === 'ABORTED') expect(c.failure, where).toMatch(/\S/);
      if (value === 'VALIDATING') expect(c.validationFailures ?? 0, where).toBeLessThan(limits.maxAttempts);
      expect(c.validationRounds ?? 0, where).toBeLessThanOrEqual(limits.validation.maxRounds);
      // Commits follow the plan: one per step, in order; only a fix-up after a failed validation
      // commits the last step again, and only a person's skip leaves a step out.
      const planIds = c.plan?.steps.map((step) => step.id) ?? [];
      const all = c.commits.map((commit) => commit.stepId);
      const committed = all.filter((id, i) => all.indexOf(id) === i);
      expect(
        all.filter((id, i) => all.indexOf(id) !== i).every((id) => id === planIds.at(-1)),
        where,
      ).toBe(true);
      expect(committed, where).toEqual(planIds.filter((id) => committed.includes(id)));
      expect(committed.length, where).toBeLessThanOrEqual(c.stepIndex + 1);
      if (value === 'DONE') {
        expect(c.stepIndex, where).toBeGreaterThanOrEqual(planIds.length - 1);
        if (skipsOnPath(key) === 0) expect(committed, where).toEqual(planIds);
      }
    }
  });

  it('takes every transition of the model on the real actor and lands where the model says', async () => {
    expect(edges.length).toBeGreaterThan(300);
    const taken = new Set<string>();
    for (const edge of edges) {
      const prefix = paths.get(edge.from);
      if (!prefix) throw new Error(`no path to ${edge.from}`);
      const snapshot = await replay([...prefix, edge.event], taken);
      expect(serialize(snapshot), `${edge.from} --${describeEvent(edge.event)}-->`).toBe(edge.to);
    }
    // Limits without a validator (and snapshots made before it) end DONE right after the last commit.
    const happy = [
      done('prepare', { worktreePath: '/wt', branch: 'tandem/T1' }),
      done('plan', ok(twoStepPlan)),
      done('reviewPlan', planReview('approved')),
      ...['a', 'b'].flatMap((fp) => [
        done('implement', implementation(fp)),
        done('reviewCode', codeReview('approved')),
        done('gate', gateReport(true)),
        done('commit', { sha: fp }),
      ]),
    ];
    const unvalidated = await replay(happy, taken, supervisorInput({ ...limits, validation: undefined }));
    expect(lifecycleState(unvalidated)).toBe('DONE');
    // Every transition written in the machine, each guarded candidate on its own, was taken.
    const missing = [...definedTransitions()].filter((key) => !taken.has(key));
    expect(missing).toEqual([]);
  }, 300_000);
});
