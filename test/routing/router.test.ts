import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PlanStepSchema } from '../../src/model/role-outputs.js';
import { ConfigSchema, type ConfigInput } from '../../src/config/schema.js';
import { createCircuitBreaker } from '../../src/routing/circuit-breaker.js';
import type { ModelEntryInput } from '../../src/routing/config-schema.js';
import { createHistoryStore } from '../../src/routing/history-store.js';
import { mergeMatrix } from '../../src/routing/matrix.js';
import { createModelRegistry } from '../../src/routing/model-registry.js';
import { createRouter, type RouteDecision, type RouterDeps, type RouteRequest } from '../../src/routing/router.js';
import { routableRunners } from '../../src/routing/routing.js';
import { TaskSpecSchema } from '../../src/model/task-spec.js';
import { manualClock } from '../helpers/manual-clock.js';

function routerFor(input: ConfigInput = {}, deps: Partial<RouterDeps> = {}) {
  const config = ConfigSchema.parse(input);
  const registry = createModelRegistry(config.models, { runnerOverride: config.runner_override, strongest: config.routing.strongest });
  return createRouter({
    registry,
    matrix: config.routing.matrix,
    pins: config.role_pins,
    runnerOverride: config.runner_override,
    diversity: config.routing.diversity,
    complexity: config.routing.complexity,
    stepRules: config.routing.preset === 'seed002',
    budgets: config.budgets,
    spend: () => ({ task: 0, day: 0, month: 0 }),
    runnerAvailable: () => true,
    random: () => 0.99,
    ...deps,
  });
}

const task = (fields: Record<string, unknown> = {}) => TaskSpecSchema.parse({ id: 'T1', goal: 'Add a helper', ...fields });
const step = (fields: Record<string, unknown> = {}) =>
  PlanStepSchema.parse({ id: 'S1', type: 'implementation', description: 'write it', estimated_complexity: 'small', ...fields });
const chosen = (d: RouteDecision) => (d.ok ? d.key : `refused:${d.kind}`);
const request = (fields: Partial<RouteRequest> & Pick<RouteRequest, 'role'>): RouteRequest => ({ task: task(), promptChars: 8_000, ...fields });
const haikuEntry = { provider: 'anthropic', model: 'claude-haiku-4-5', runner: 'claude-code', price: { input: 1, output: 5 }, context_tokens: 200_000 };
/** A breaker on which `key` was rate limited by another task's call. */
function limited(key: string) {
  const breaker = createCircuitBreaker({ failures: 3, cooldownMs: 5_000, clock: manualClock(0) });
  breaker.record(key, { success: false, kind: 'rate_limit', retryAfterMs: 30_000 });
  return breaker;
}

describe('router: the matrix (seed 002 “Model Routing Matrix”)', () => {
  const router = routerFor();
  it.each([
    ['planner', 'high', 'core', 'sonnet'],
    ['planner', 'high', 'api', 'pro'],
    ['planner', 'medium', 'tests', 'pro'],
    ['planner', 'low', 'docs', 'flash'],
  ] as const)('%s, %s risk, area %s → %s', (role, risk, area, model) => {
    const d = router.route(request({ role, task: task({ risk, area, type: risk === 'low' ? 'docs' : 'feature' }) }));
    expect(chosen(d)).toBe(model);
    expect(d.ok && d.source).toBe('matrix');
  });

  it('routes a step by its own risk, raised by its complexity', () => {
    const low = router.route(request({ role: 'implementer', task: task({ area: 'docs' }), step: step({ risk: 'low', type: 'docs' }) }));
    expect(chosen(low)).toBe('flash');
    expect(low.reason).toMatch(/^complexity 0\.5\/10 \(small size \+0\.5\); matrix implementer\.low\.any → flash/);
    const raised = router.route(
      request({
        role: 'implementer',
        task: task({ area: 'core' }),
        step: step({ risk: 'low', type: 'refactor', estimated_complexity: 'large', files_to_modify: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'] }),
      }),
    );
    expect(raised).toMatchObject({ ok: true, key: 'codex', risk: 'medium', cellPath: 'implementer.medium.any' });
    expect(raised.reason).toContain('raising low risk to medium');
  });
});

describe('router: routing.preset seed002 (seed 002’s matrix and step rules exactly)', () => {
  const router = routerFor({ routing: { preset: 'seed002' } });
  it.each([
    ['planner', 'high', 'core', 'sonnet'],
    ['planner', 'high', 'services', 'pro'],
    ['planner', 'medium', 'general', 'pro'],
    ['planner', 'low', 'comments', 'flash'],
    ['planner', 'low', 'math', 'sonnet'],
    ['implementer', 'high', 'services', 'sonnet'],
    ['implementer', 'medium', 'services', 'pro'],
    ['implementer', 'medium', 'general', 'pro'],
    ['implementer', 'low', 'tests', 'flash'],
    ['implementer', 'low', 'general', 'pro'],
  ] as const)('%s, %s risk, area %s → %s', (role, risk, area, model) => {
    const d = router.route(
      request({ role, task: task({ risk, area }), ...(role === 'implementer' ? { step: step({ risk, estimated_complexity: 'trivial' }) } : {}) }),
    );
    expect(chosen(d)).toBe(model);
  });

  it('applies the step rules: a large step to the strongest tier, docs and simple refactors to the cheapest, high risk first', () => {
    const large = router.route(
      request({ role: 'implementer', task: task({ risk: 'low', area: 'general' }), step: step({ risk: 'low', estimated_complexity: 'large' }) }),
    );
    expect(large).toMatchObject({ ok: true, key: 'sonnet', risk: 'high' });
    expect(large.reason).toContain('seed 002 step rule: a large step goes to the strongest tier (high risk)');
    const docs = router.route(request({ role: 'implementer', task: task({ risk: 'medium', area: 'api' }), step: step({ risk: 'medium', type: 'docs' }) }));
    expect(docs).toMatchObject({ ok: true, key: 'flash', risk: 'low', area: 'docs' });
    const refactor = router.route(
      request({ role: 'implementer', task: task({ risk: 'medium' }), step: step({ risk: 'medium', type: 'refactor', estimated_complexity: 'small' }) }),
    );
    expect(chosen(refactor)).toBe('flash');
    expect(refactor.reason).toContain('a simple refactor goes to the cheapest tier');
    const highDocs = router.route(request({ role: 'implementer', task: task({ risk: 'high' }), step: step({ risk: 'high', type: 'docs' }) }));
    expect(chosen(highDocs)).toBe('sonnet');
  });

  it('never sends work to a provider the seed does not name, and the default preset keeps its own matrix', () => {
    for (const risk of ['high', 'medium', 'low'] as const)
      for (const area of ['core', 'math', 'api', 'services', 'docs', 'comments', 'tests', 'general'] as const) {
        const d = router.route(request({ role: 'implementer', task: task({ risk, area }), step: step({ risk }) }));
        expect(d.ok && ['anthropic', 'google'].includes(d.ref.provider), `${risk}/${area}`).toBe(true);
      }
    expect(chosen(routerFor().route(request({ role: 'implementer', task: task({ risk: 'medium', area: 'general' }), step: step({ risk: 'medium' }) })))).toBe(
      'codex',
    );
  });
});

describe('router: the diversity rule', () => {
  const router = routerFor();
  it('gives a reviewer another provider than the author', () => {
    const review = router.route(request({ role: 'code-reviewer', author: { provider: 'anthropic', model: 'claude-sonnet-4-5' } }));
    expect(chosen(review)).toBe('pro');
    expect(review.reason).toContain("sonnet skipped: it is the author's model (anthropic/claude-sonnet-4-5)");
    expect(review.reason).toContain('diversity (provider): the author is anthropic/claude-sonnet-4-5, the reviewer google/gemini-2.5-pro');
    expect(chosen(router.route(request({ role: 'plan-reviewer', author: { provider: 'google', model: 'gemini-2.5-flash' } })))).toBe('sonnet');
  });

  it('with `diversity: model`, the same provider is fine but never the same model', () => {
    const byModel = routerFor({ routing: { diversity: 'model', matrix: { 'code-reviewer': { any: { any: ['sonnet', 'haiku'] } } } } });
    expect(chosen(byModel.route(request({ role: 'code-reviewer', author: { provider: 'anthropic', model: 'claude-sonnet-4-5' } })))).toBe('haiku');
  });

  it('overrides a pinned reviewer that would review its own work', () => {
    const pinned = routerFor({ roles: { 'code-reviewer': 'sonnet' } });
    const d = pinned.route(request({ role: 'code-reviewer', author: { provider: 'anthropic', model: 'claude-sonnet-4-5' } }));
    expect(d.ok && d.ref.provider).not.toBe('anthropic');
    expect(d.reason).toContain('pinned in roles.code-reviewer to sonnet');
  });

  const names = ['m0', 'm1', 'm2', 'm3', 'm4', 'm5'];
  const registries = fc.record({
    providers: fc.array(fc.constantFrom('p0', 'p1', 'p2'), { minLength: names.length, maxLength: names.length }),
    models: fc.array(fc.constantFrom('x', 'y', 'z', 'w', 'v', 'u'), { minLength: names.length, maxLength: names.length }),
    cell: fc.uniqueArray(fc.constantFrom(...names), { minLength: 1, maxLength: 4 }),
    author: fc.record({ provider: fc.constantFrom('p0', 'p1', 'p2', 'p3'), model: fc.constantFrom('x', 'y', 'z', 'q') }),
    diversity: fc.constantFrom('provider' as const, 'model' as const),
    role: fc.constantFrom('plan-reviewer' as const, 'code-reviewer' as const),
    risk: fc.constantFrom('low' as const, 'medium' as const, 'high' as const),
  });

  it('property: a reviewer’s model always differs from the author’s (and by default its provider), and one is found whenever one exists', () => {
    fc.assert(
      fc.property(registries, (r) => {
        const models: Record<string, ModelEntryInput> = Object.fromEntries(
          names.map((n, i) => [
            n,
            { provider: r.providers[i] ?? 'p0', model: r.models[i] ?? 'x', runner: 'scripted', price: { input: 1, output: 1 }, context_tokens: 100_000 },
          ]),
        );
        // Keep only the random registry: every shipped model is replaced by a name the matrix never uses.
        const config = ConfigSchema.parse({
          models,
          routing: { diversity: r.diversity, matrix: { [r.role]: { any: { any: r.cell } } } },
        });
        const registry = createModelRegistry(Object.fromEntries(names.map((n) => [n, config.models[n]!])));
        const router = createRouter({
          registry,
          matrix: mergeMatrix(config.routing.matrix),
          pins: {},
          diversity: r.diversity,
          complexity: config.routing.complexity,
          budgets: config.budgets,
          spend: () => ({ task: 0, day: 0, month: 0 }),
          runnerAvailable: () => true,
          random: () => 0.5,
        });
        const d = router.route({ role: r.role, task: task({ risk: r.risk }), author: r.author, promptChars: 100 });
        const fits = (i: number) => r.models[i] !== r.author.model && (r.diversity === 'model' || r.providers[i] !== r.author.provider);
        if (d.ok) {
          expect(d.ref.model).not.toBe(r.author.model);
          if (r.diversity === 'provider') expect(d.ref.provider).not.toBe(r.author.provider);
          // The cell's order is kept: no fitting cell model comes before the chosen one.
          const firstFitInCell = r.cell.find((n) => fits(names.indexOf(n)));
          if (firstFitInCell) expect(d.key).toBe(firstFitInCell);
        } else {
          expect(d.kind).toBe('none');
          expect(names.some((_, i) => fits(i))).toBe(false);
        }
      }),
      { numRuns: 400 },
    );
  });
});

describe('router: the diversity rule on every path', () => {
  const names = ['m0', 'm1', 'm2', 'm3', 'm4', 'm5'];
  const world = fc.record({
    providers: fc.array(fc.constantFrom('p0', 'p1', 'p2'), { minLength: names.length, maxLength: names.length }),
    models: fc.array(fc.constantFrom('x', 'y', 'z', 'w'), { minLength: names.length, maxLength: names.length }),
    // m_i may fall back to a later model only, so chains never loop.
    fallbacks: fc.array(fc.option(fc.integer({ min: 1, max: names.length - 1 }), { nil: undefined }), { minLength: names.length, maxLength: names.length }),
    prices: fc.array(fc.integer({ min: 0, max: 20 }), { minLength: names.length, maxLength: names.length }),
    cell: fc.uniqueArray(fc.constantFrom(...names), { minLength: 1, maxLength: 3 }),
    author: fc.record({ provider: fc.constantFrom('p0', 'p1', 'p2'), model: fc.constantFrom('x', 'y', 'z') }),
    diversity: fc.constantFrom('provider' as const, 'model' as const),
    role: fc.constantFrom('plan-reviewer' as const, 'code-reviewer' as const),
    path: fc.constantFrom('matrix', 'pin', 'fallback', 'downgrade', 'history'),
    pick: fc.integer({ min: 0, max: names.length - 1 }),
    winners: fc.uniqueArray(fc.constantFrom(...names), { minLength: 1, maxLength: 3 }),
  });

  it("property: whatever path decides (matrix, pin, fallback, budget downgrade, history), a reviewer never gets the author's model, nor by default its provider", async () => {
    await fc.assert(
      fc.asyncProperty(world, async (w) => {
        const models: Record<string, ModelEntryInput> = Object.fromEntries(
          names.map((n, i) => {
            const to = w.fallbacks[i];
            const fallback = to !== undefined && i + to < names.length ? names[i + to] : undefined;
            return [
              n,
              {
                provider: w.providers[i] ?? 'p0',
                model: w.models[i] ?? 'x',
                runner: 'scripted',
                price: { input: w.prices[i] ?? 1, output: w.prices[i] ?? 1 },
                context_tokens: 100_000,
                ...(fallback ? { fallback } : {}),
              },
            ];
          }),
        );
        const picked = names[w.pick] ?? 'm0';
        const config = ConfigSchema.parse({
          models,
          routing: {
            diversity: w.diversity,
            matrix: { [w.role]: { any: { any: w.cell } } },
            history: { roles: [w.role], min_samples: 5, explore: names },
          },
        });
        const registry = createModelRegistry(Object.fromEntries(names.map((n) => [n, config.models[n]!])));
        const history = createHistoryStore({ window: 100 });
        if (w.path === 'history') {
          for (const n of names) {
            for (let i = 0; i < 6; i++) {
              await history.record({
                at: i,
                task_id: `H${i}`,
                role: w.role,
                model_name: n,
                area: 'general',
                risk: 'medium',
                step_type: 'code_review',
                success: w.winners.includes(n),
                attempts: 1,
                cost_usd: 0.01,
                duration_ms: 1,
              });
            }
          }
        }
        const router = createRouter({
          registry,
          matrix: mergeMatrix(config.routing.matrix),
          pins: w.path === 'pin' ? { [w.role]: picked } : {},
          diversity: w.diversity,
          complexity: config.routing.complexity,
          budgets: w.path === 'downgrade' ? { ...config.budgets, task_usd: 0.05, on_exceed: 'downgrade' } : config.budgets,
          spend: () => ({ task: w.path === 'downgrade' ? 0.04 : 0, day: 0, month: 0 }),
          runnerAvailable: () => true,
          random: () => 0.01,
          ...(w.path === 'history' ? { history: { store: history, settings: config.routing.history } } : {}),
        });
        const d = router.route({
          role: w.role,
          task: task({ risk: 'medium', area: 'general' }),
          author: w.author,
          promptChars: 4_000,
          ...(w.path === 'fallback' ? { fallbackFrom: { name: picked, reason: 'timeout: slow' }, tried: [picked] } : {}),
        });
        if (d.ok) {
          expect(d.ref.model, `${w.path}: ${d.reason}`).not.toBe(w.author.model);
          if (w.diversity === 'provider') expect(d.ref.provider, `${w.path}: ${d.reason}`).not.toBe(w.author.provider);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('router: pins, runners, context, circuits', () => {
  it('a pinned role keeps its model, outside the registry too', () => {
    const router = routerFor({ roles: { planner: { provider: 'acme', model: 'acme-1', runner: 'scripted' } } });
    const d = router.route(request({ role: 'planner', task: task({ risk: 'high', area: 'core' }) }));
    expect(d).toMatchObject({
      ok: true,
      key: 'acme/acme-1',
      name: undefined,
      source: 'pin',
      ref: { provider: 'acme', model: 'acme-1', runner: 'scripted' },
      estimateUsd: 0,
    });
  });

  it('routes around a model whose runner is missing, down its fallback chain', () => {
    const router = routerFor({}, { runnerAvailable: (runner) => runner !== 'claude-code' });
    const d = router.route(request({ role: 'implementer', task: task({ risk: 'high', area: 'core' }) }));
    expect(d).toMatchObject({ ok: true, key: 'pro', source: 'fallback' });
    expect(d.reason).toContain('sonnet skipped: no runner "claude-code" is available');
  });

  it('routes around a prompt longer than the model’s context', () => {
    const router = routerFor({
      models: {
        sonnet: {
          provider: 'anthropic',
          model: 'claude-sonnet-4-5',
          runner: 'claude-code',
          price: { input: 3, output: 15 },
          context_tokens: 1_000,
          fallback: 'pro',
        },
      },
    });
    const d = router.route(request({ role: 'planner', task: task({ risk: 'high', area: 'core' }), promptChars: 40_000 }));
    expect(chosen(d)).toBe('pro');
    expect(d.reason).toContain('sonnet skipped: the prompt (~10000 tokens) exceeds its context of 1000');
  });

  it('skips a model with an open circuit; with every fit model out, says when one is back', () => {
    const clock = manualClock(0);
    const breaker = createCircuitBreaker({ failures: 1, cooldownMs: 5_000, clock });
    const router = routerFor({ routing: { matrix: { planner: { any: { any: 'haiku' } } } } }, { breaker });
    breaker.record('haiku', { success: false, kind: 'overloaded' });
    const d = router.route(request({ role: 'planner' }));
    expect(d).toMatchObject({ ok: false, kind: 'unavailable', retryAt: 5_000 });
    clock.advance(5_000);
    expect(router.route(request({ role: 'planner' }))).toMatchObject({
      ok: true,
      key: 'haiku',
      reason: expect.stringContaining("haiku's circuit is half-open: this is its trial call") as unknown,
    });
  });

  it('never replaces a pinned reviewer without a configured fallback: rate limited by another task, the call waits for it', () => {
    const clock = manualClock(0);
    const breaker = createCircuitBreaker({ failures: 3, cooldownMs: 5_000, clock });
    // haiku has no `fallback`; another task's call was rate limited on it until t=30 s.
    breaker.record('haiku', { success: false, kind: 'rate_limit', retryAfterMs: 30_000 });
    const author = { provider: 'google', model: 'gemini-2.5-flash' };
    const pinned = routerFor({ roles: { 'code-reviewer': 'haiku' } }, { breaker });
    const d = pinned.route(request({ role: 'code-reviewer', author }));
    expect(d).toMatchObject({ ok: false, kind: 'unavailable', retryAt: 30_000, preferred: { provider: 'anthropic', model: 'claude-haiku-4-5' } });
    expect(d.reason).toContain('pinned in roles.code-reviewer to haiku');
    expect(d.reason).toContain('haiku skipped: rate limited until');
    clock.advance(30_000);
    expect(pinned.route(request({ role: 'code-reviewer', author }))).toMatchObject({ ok: true, key: 'haiku', source: 'pin' });
    // With a fallback configured, the chain (and only it) may take the call.
    const withFallback = routerFor(
      { roles: { 'code-reviewer': 'haiku' }, models: { haiku: { ...haikuEntry, fallback: 'local' } } },
      { breaker: limited('haiku') },
    );
    expect(withFallback.route(request({ role: 'code-reviewer', author }))).toMatchObject({ ok: true, key: 'local', source: 'fallback' });
  });

  it('a pinned reviewer the diversity rule rules out, without a fallback, is refused with the reason rather than replaced', () => {
    const pinned = routerFor({ roles: { 'code-reviewer': 'haiku' } });
    const d = pinned.route(request({ role: 'code-reviewer', author: { provider: 'anthropic', model: 'claude-sonnet-4-5' } }));
    expect(d).toMatchObject({ ok: false, kind: 'none' });
    expect(d.reason).toContain("haiku skipped: same provider (anthropic) as the author's claude-sonnet-4-5");
  });

  it('after a failure, tries only the failed model’s fallback chain; none under runner_override', () => {
    const router = routerFor();
    const d = router.route(request({ role: 'implementer', fallbackFrom: { name: 'flash', reason: 'rate_limit: slow down' }, tried: ['flash'] }));
    expect(d).toMatchObject({ ok: true, key: 'haiku', source: 'fallback' });
    expect(d.reason).toContain('flash failed (rate_limit: slow down); its fallback chain: haiku');
    expect(routerFor().route(request({ role: 'implementer', fallbackFrom: { name: 'haiku', reason: 'timeout: x' }, tried: ['haiku'] }))).toMatchObject({
      ok: false,
      kind: 'none',
    });
    const scripted = routerFor({ runner_override: 'scripted' });
    expect(scripted.route(request({ role: 'implementer', fallbackFrom: { name: 'flash', reason: 'rate_limit: x' }, tried: ['flash'] })).reason).toContain(
      'no fallback: every model runs on the "scripted" runner (runner_override)',
    );
  });
});

describe('router: budgets', () => {
  // 8,000 prompt chars = 2,000 tokens in; the implementer is expected to write 4,000 out.
  const sonnetCall = (2_000 * 3 + 4_000 * 15) / 1e6; // $0.066
  const spend =
    (task: number, day = 0, month = 0) =>
    () => ({ task, day, month });

  it('a call that fits goes ahead', () => {
    const d = routerFor({ budgets: { task_usd: 1 } }, { spend: spend(0.9) }).route(
      request({ role: 'implementer', task: task({ risk: 'high', area: 'core' }) }),
    );
    expect(d).toMatchObject({ ok: true, key: 'sonnet', estimateUsd: sonnetCall });
  });

  it('downgrades to a cheaper model of the fallback chain that fits', () => {
    const d = routerFor({ budgets: { task_usd: 1 } }, { spend: spend(0.95) }).route(
      request({ role: 'implementer', task: task({ risk: 'high', area: 'core' }) }),
    );
    expect(d).toMatchObject({ ok: true, key: 'pro', source: 'downgrade', estimateUsd: (2_000 * 1.25 + 4_000 * 10) / 1e6 });
    expect(d.reason).toContain('the task budget of $1.00 would be exceeded: $0.95 spent + $0.07 estimated for this call on sonnet; downgraded to pro');
  });

  it('stops when nothing cheaper fits, or when told to ask; the task’s own budget and a person’s grant count', () => {
    const stop = routerFor({ budgets: { day_usd: 5 } }, { spend: spend(0, 4.999) }).route(
      request({ role: 'implementer', task: task({ risk: 'high', area: 'core' }) }),
    );
    expect(stop).toMatchObject({
      ok: false,
      kind: 'budget',
      budget: { scope: 'day', limitUsd: 5, spentUsd: 4.999 },
      preferred: { model: 'claude-sonnet-4-5' },
    });
    expect(stop.reason).toBe(
      'the daily budget of $5.00 would be exceeded: $5.00 spent + $0.07 estimated for this call; no cheaper model in the fallback chain of sonnet fits',
    );
    const ask = routerFor({ budgets: { month_usd: 1, on_exceed: 'ask' } }, { spend: spend(0, 0, 0.96) }).route(
      request({ role: 'implementer', task: task({ risk: 'high', area: 'core' }) }),
    );
    expect(ask).toMatchObject({ ok: false, kind: 'budget', reason: expect.stringMatching(/budgets\.on_exceed is `ask`$/) as unknown });
    const own = routerFor({ budgets: { task_usd: 100 } }, { spend: spend(0.01) }).route(
      request({ role: 'implementer', task: task({ risk: 'high', area: 'core', budget_usd: 0.03 }) }),
    );
    expect(own).toMatchObject({ ok: true, key: 'flash', source: 'downgrade' });
    const raised = routerFor({ budgets: { task_usd: 0.05 } }, { spend: spend(0.05) }).route(
      request({ role: 'implementer', task: task({ risk: 'high', area: 'core' }), budgetGrantUsd: 0.1 }),
    );
    expect(raised).toMatchObject({ ok: true, key: 'sonnet', source: 'matrix' });
  });
});

describe('router: history', () => {
  it('prefers a cheaper model once the cell has enough outcomes, and says so', async () => {
    const history = createHistoryStore({ window: 500 });
    const settings = ConfigSchema.parse({}).routing.history;
    const record = (model: string, success: boolean, cost: number) =>
      history.record({
        at: 0,
        task_id: 'X',
        role: 'implementer',
        model_name: model,
        area: 'core',
        risk: 'high',
        step_type: 'implementation',
        success,
        attempts: 1,
        cost_usd: cost,
        duration_ms: 1,
      });
    for (let i = 0; i < 20; i++) {
      await record('sonnet', i % 10 !== 0, 0.07);
      await record('pro', i % 10 !== 0, 0.04);
    }
    const router = routerFor({}, { history: { store: history, settings } });
    const d = router.route(request({ role: 'implementer', task: task({ risk: 'high', area: 'core' }), step: step({ risk: 'high' }) }));
    expect(d).toMatchObject({ ok: true, key: 'pro', source: 'history' });
    expect(d.reason).toContain('history: pro 90% of 20 at $0.0400/outcome (22.5 successes/$) beats sonnet 90% of 20 at $0.0700/outcome (12.9 successes/$)');
    // Under runner_override the models are labels: nothing is learnt or explored.
    const labels = routerFor({ runner_override: 'scripted' }, { history: { store: history, settings }, random: () => 0 });
    expect(labels.route(request({ role: 'implementer', task: task({ risk: 'high', area: 'core' }), step: step({ risk: 'high' }) }))).toMatchObject({
      ok: true,
      key: 'sonnet',
      source: 'matrix',
    });
    // Another cell has no history: the matrix decides.
    const other = router.route(request({ role: 'implementer', task: task({ risk: 'high', area: 'math' }), step: step({ risk: 'high' }) }));
    expect(other).toMatchObject({ ok: true, key: 'sonnet', source: 'matrix' });
  });
});

describe('routable runners', () => {
  it('lists every runner a call may reach, with its models, for doctor and the CLI', () => {
    expect(Object.fromEntries(routableRunners(ConfigSchema.parse({})))).toEqual({
      // Opus through the validator's row for high-risk tasks.
      'claude-code': ['claude-sonnet-4-5', 'claude-haiku-4-5', 'claude-opus-4-5'],
      'gemini-cli': ['gemini-2.5-pro', 'gemini-2.5-flash'],
      'codex-cli': ['gpt-5-codex'],
    });
    expect(Object.fromEntries(routableRunners(ConfigSchema.parse({ runner_override: 'scripted' })))).toEqual({
      scripted: ['claude-sonnet-4-5', 'gemini-2.5-pro', 'gemini-2.5-flash', 'claude-haiku-4-5', 'gpt-5-codex', 'claude-opus-4-5'],
    });
  });
});
