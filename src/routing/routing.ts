import type { Store } from '../store/store.js';
import type { Clock } from '../platform/clock.js';
import type { RoutingConfig } from './routing-options.js';
import type { InputIssue } from '../platform/errors.js';
import { createCircuitBreaker, type CircuitBreaker } from './circuit-breaker.js';
import { createConcurrencyLimiter, type ConcurrencyLimiter } from './concurrency-limiter.js';
import { createCostLedger, type CostLedger } from './cost-ledger.js';
import { createHistoryStore, type HistoryStore } from './history-store.js';
import { routedRoles } from './config-schema.js';
import { rowModels } from './matrix.js';
import { createModelRegistry, type ModelRegistry } from './model-registry.js';
import { createRouter, type Router } from './router.js';

/**
 * Everything routing needs, built once per runtime from the config and the store: the registry,
 * the router, the cost ledger and step history (both durable in the store), and the per-model
 * circuit breakers and concurrency limits shared by every task of the process.
 */
export interface Routing {
  readonly registry: ModelRegistry;
  readonly router: Router;
  readonly ledger: CostLedger;
  readonly history: HistoryStore;
  readonly breaker: CircuitBreaker;
  readonly limiter: ConcurrencyLimiter;
  /** Loads the ledger and the history once; the first call of every role waits for it. */
  ready(): Promise<void>;
}

export interface RoutingOptions {
  readonly config: RoutingConfig;
  /** Where the ledger and the history live. */
  readonly store: Store;
  readonly clock: Clock;
  /** Names of the runners that exist; a model whose runner is missing is routed around. */
  readonly runnerAvailable: (runner: string) => boolean;
  readonly random?: (() => number) | undefined;
  /**
   * Other processes route and record calls in the same store (distributed mode): budgets then count
   * their spend too, read back at most every `syncIntervalMs` before a call is routed.
   */
  readonly shared?: { readonly syncIntervalMs: number } | undefined;
}

export function createRouting(options: RoutingOptions): Routing {
  const { config, store, clock } = options;
  const registry = createModelRegistry(config.models, { runnerOverride: config.runner_override, strongest: config.routing.strongest });
  const ledger = createCostLedger({ store, registry, clock, shared: options.shared });
  const history = createHistoryStore({ store, window: config.routing.history.window });
  const breaker = createCircuitBreaker({ failures: config.routing.breaker.failures, cooldownMs: config.routing.breaker.cooldown_ms, clock });
  // A pinned model outside the registry has no configured limit.
  const limiter = createConcurrencyLimiter((key) => registry.get(key)?.concurrency ?? Number.MAX_SAFE_INTEGER);
  const router = createRouter({
    registry,
    matrix: config.routing.matrix,
    pins: config.role_pins,
    runnerOverride: config.runner_override,
    diversity: config.routing.diversity,
    complexity: config.routing.complexity,
    stepRules: config.routing.preset === 'seed002',
    history: { store: history, settings: config.routing.history },
    budgets: config.budgets,
    spend: (taskId) => ledger.spend(taskId),
    breaker,
    runnerAvailable: options.runnerAvailable,
    random: options.random ?? Math.random,
  });
  let loading: Promise<void> | undefined;
  return {
    registry,
    router,
    ledger,
    history,
    breaker,
    limiter,
    ready: () => (loading ??= Promise.all([ledger.load(), history.load()]).then(() => undefined)),
  };
}

/**
 * Roles that no model could take with the runners at hand: a pin whose runner is missing, or a
 * matrix row none of whose models (or their fallbacks) has a runner. Checked before anything starts.
 */
export function runnerIssues(config: RoutingConfig, available: readonly string[]): InputIssue[] {
  const has = (runner: string): boolean => available.includes(runner);
  const listed = `available: ${available.join(', ') || 'none'}`;
  const issues: InputIssue[] = [];
  if (config.runner_override !== undefined && !has(config.runner_override)) {
    return [{ file: 'config', field: 'runner_override', message: `no runner named "${config.runner_override}" (${listed})` }];
  }
  const registry = createModelRegistry(config.models, { runnerOverride: config.runner_override });
  for (const role of routedRoles) {
    const pin = config.role_pins[role];
    if (pin !== undefined) {
      const runner = typeof pin === 'string' ? registry.get(pin)?.runner : (config.runner_override ?? pin.runner);
      if (runner !== undefined && !has(runner))
        issues.push({ file: 'config', field: `roles.${role}.runner`, message: `no runner named "${runner}" (${listed})` });
      continue;
    }
    const names = rowModels(config.routing.matrix[role]);
    const reachable = [...names, ...names.flatMap((n) => registry.chain(n))];
    if (!reachable.some((n) => has(registry.get(n)?.runner ?? ''))) {
      const runners = [...new Set(reachable.flatMap((n) => registry.get(n)?.runner ?? []))];
      issues.push({
        file: 'config',
        field: `routing.matrix.${role}`,
        message: `none of its models has a runner here (they need ${runners.join(', ')}; ${listed})`,
      });
    }
  }
  return issues;
}

/**
 * Every runner the routing may send a call to (pins, every matrix row and the fallback chains of
 * their models), with the models that go through it: what `doctor` should check and what the CLI
 * must build.
 */
export function routableRunners(config: RoutingConfig): Map<string, string[]> {
  const registry = createModelRegistry(config.models, { runnerOverride: config.runner_override });
  const used = new Map<string, string[]>();
  const add = (runner: string, model: string): void => {
    const models = used.get(runner) ?? [];
    if (!models.includes(model)) models.push(model);
    used.set(runner, models);
  };
  for (const role of routedRoles) {
    const pin = config.role_pins[role];
    if (pin !== undefined && typeof pin !== 'string') {
      add(config.runner_override ?? pin.runner, pin.model);
      continue;
    }
    const names = pin === undefined ? rowModels(config.routing.matrix[role]) : [pin];
    for (const name of [...names, ...names.flatMap((n) => registry.chain(n))]) {
      const m = registry.get(name);
      if (m) add(m.runner, m.model);
    }
  }
  return used;
}
