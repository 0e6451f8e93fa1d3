import { describe, expect, it } from 'vitest';
import { PlanStepSchema } from '../../src/model/role-outputs.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { createHistoryStore } from '../../src/routing/history-store.js';
import { createModelRegistry } from '../../src/routing/model-registry.js';
import { createRouter } from '../../src/routing/router.js';
import { TaskSpecSchema, type Area } from '../../src/model/task-spec.js';

/** mulberry32: a seeded random source, so the simulation is the same on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The truth the router does not know: each model's chance of passing the gate first time, and its cost per step. */
type World = Readonly<Record<string, { readonly rate: number; readonly cost: number }>>;

/**
 * Closes the loop: the router picks a model for a high-risk implementation step in `area`, the
 * world decides whether the step passed first time, and the outcome goes into the history the
 * router learns from.
 */
async function simulate(world: World, area: Area, decisions: number, seed: number, explore: readonly string[] = []): Promise<string[]> {
  const config = ConfigSchema.parse({ routing: { history: { explore } } });
  const random = seeded(seed);
  const history = createHistoryStore({ window: config.routing.history.window });
  const router = createRouter({
    registry: createModelRegistry(config.models),
    matrix: config.routing.matrix,
    pins: {},
    diversity: 'provider',
    complexity: config.routing.complexity,
    history: { store: history, settings: config.routing.history },
    budgets: config.budgets,
    spend: () => ({ task: 0, day: 0, month: 0 }),
    runnerAvailable: () => true,
    random,
  });
  const task = TaskSpecSchema.parse({ id: 'SIM', goal: 'simulated work', risk: 'high', area });
  const step = PlanStepSchema.parse({ id: 'S1', type: 'implementation', risk: 'high', description: 'simulated step' });
  const picks: string[] = [];
  for (let i = 0; i < decisions; i++) {
    const d = router.route({ role: 'implementer', task, step, promptChars: 8_000 });
    if (!d.ok || d.name === undefined) throw new Error(`no route: ${d.reason}`);
    const truth = world[d.name];
    if (!truth) throw new Error(`the world has no ${d.name}`);
    picks.push(d.name);
    await history.record({
      at: i,
      task_id: `SIM-${i}`,
      step_id: 'S1',
      role: 'implementer',
      model_name: d.name,
      area,
      risk: d.risk,
      step_type: d.stepType,
      success: random() < truth.rate,
      attempts: 1,
      cost_usd: truth.cost,
      duration_ms: 1,
    });
  }
  return picks;
}

const share = (picks: readonly string[], model: string): number => picks.filter((p) => p === model).length / picks.length;

describe('history-based routing, simulated over thousands of step outcomes', () => {
  it('learns that a cheaper model succeeds as often as the matrix’s expensive one, and moves the cell to it', async () => {
    // sonnet is the matrix's choice for high-risk core work; pro is as good at 57% of the price; flash fails too often.
    const world: World = {
      sonnet: { rate: 0.92, cost: 0.07 },
      pro: { rate: 0.92, cost: 0.04 },
      flash: { rate: 0.6, cost: 0.01 },
      codex: { rate: 0.7, cost: 0.03 },
    };
    for (const seed of [1, 2, 3]) {
      const picks = await simulate(world, 'core', 4_000, seed);
      expect(share(picks.slice(0, 20), 'sonnet'), `seed ${seed}: the matrix decides at first`).toBeGreaterThanOrEqual(0.8);
      const late = picks.slice(-1_000);
      expect(share(late, 'pro'), `seed ${seed}`).toBeGreaterThanOrEqual(0.85);
      expect(share(late, 'flash'), `seed ${seed}: flash is only explored`).toBeLessThanOrEqual(0.05);
    }
  });

  it('does not switch when the cheaper model fails more', async () => {
    const world: World = {
      sonnet: { rate: 0.92, cost: 0.07 },
      pro: { rate: 0.75, cost: 0.04 },
      flash: { rate: 0.6, cost: 0.01 },
      codex: { rate: 0.7, cost: 0.03 },
    };
    for (const seed of [1, 2, 3]) {
      const late = (await simulate(world, 'math', 4_000, seed)).slice(-1_000);
      expect(share(late, 'sonnet'), `seed ${seed}`).toBeGreaterThanOrEqual(0.9);
      expect(share(late, 'pro') + share(late, 'flash') + share(late, 'codex'), `seed ${seed}: only exploration`).toBeLessThanOrEqual(0.08);
    }
  });

  it("learns a model of the role's row that is outside the cell and its fallback chain", async () => {
    // high/core is sonnet → pro → flash → haiku; codex is in the implementer row (medium risk) only.
    const world: World = {
      sonnet: { rate: 0.92, cost: 0.07 },
      pro: { rate: 0.7, cost: 0.04 },
      flash: { rate: 0.6, cost: 0.01 },
      codex: { rate: 0.93, cost: 0.03 },
    };
    const late = (await simulate(world, 'core', 3_000, 7)).slice(-1_000);
    expect(share(late, 'codex')).toBeGreaterThanOrEqual(0.85);
  });

  it('considers the models of routing.history.explore too, and no others', async () => {
    const world: World = {
      sonnet: { rate: 0.92, cost: 0.07 },
      pro: { rate: 0.7, cost: 0.04 },
      flash: { rate: 0.6, cost: 0.01 },
      codex: { rate: 0.7, cost: 0.03 },
      opus: { rate: 0.99, cost: 0.05 },
    };
    const without = (await simulate(world, 'core', 2_000, 11)).slice(-500);
    expect(share(without, 'opus')).toBe(0);
    const withExplore = (await simulate(world, 'core', 3_000, 11, ['opus'])).slice(-1_000);
    expect(share(withExplore, 'opus')).toBeGreaterThanOrEqual(0.85);
  });
});
