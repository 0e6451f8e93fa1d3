import type { ModelRef } from '../model/execution.js';
import type { PlanStep } from '../model/role-outputs.js';
import type { Area, Risk, TaskSpec } from '../model/task-spec.js';
import { checkBudget, describeBudgetStop, estimateCallTokens, type BudgetCheck, type Spend } from './budget.js';
import { formatUsd } from '../platform/format.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import { describeComplexity, riskClass, scoreStep, scoreTask, type Complexity, type ComplexityThresholds } from './complexity.js';
import type { Budgets, Diversity, HistorySettings, RolePin, RolePins, RoutedRole } from './config-schema.js';
import { diversityObjection } from './diversity.js';
import type { HistoryStore } from './history-store.js';
import { chooseByHistory } from './learning-policy.js';
import { resolveCell, rowModels, type FullMatrix } from './matrix.js';
import { seed002StepRule } from './step-rules.js';
import { modelKey, usdFor, type ModelRegistry } from './model-registry.js';

/**
 * The router (DESIGN §6): for one call of a role it picks a model from the pin, the routing
 * matrix, or the history of the cell; skips models the diversity rule, a missing runner, the
 * context limit or an open circuit rule out; and checks the budgets. Every decision carries one
 * line saying why, for logs, events and `tandem route --explain`.
 */

type RouteSource = 'pin' | 'matrix' | 'history' | 'exploration' | 'fallback' | 'downgrade';

type RouteTask = Pick<TaskSpec, 'id' | 'risk' | 'area' | 'type' | 'goal' | 'context' | 'target_files' | 'budget_usd'>;
export type RouteStep = Pick<PlanStep, 'id' | 'type' | 'risk' | 'estimated_complexity' | 'files_to_create' | 'files_to_modify' | 'description'>;

export interface RouteRequest {
  readonly role: RoutedRole;
  readonly task: RouteTask;
  readonly step?: RouteStep | undefined;
  /** The author's model, for a reviewer. */
  readonly author?: { readonly provider: string; readonly model: string } | undefined;
  readonly promptChars: number;
  /** USD a person added to this task's budgets with `--raise-budget`. */
  readonly budgetGrantUsd?: number | undefined;
  /** Set after `name` failed within this call: only its configured fallback chain is tried. */
  readonly fallbackFrom?: { readonly name: string; readonly reason: string } | undefined;
  /** Models (keys) already tried within this call. */
  readonly tried?: readonly string[] | undefined;
}

interface Routed {
  readonly risk: Risk;
  readonly area: Area;
  readonly stepType: string;
  readonly complexity: Complexity;
  /** The matrix cell, e.g. `implementer.high.core`. */
  readonly cellPath?: string | undefined;
}

export interface RouteChoice extends Routed {
  readonly ok: true;
  /** Key of the model for the limiter and the breaker: its registry name, or provider/model. */
  readonly key: string;
  /** Registry name; undefined for a pinned model outside the registry. */
  readonly name?: string | undefined;
  readonly ref: ModelRef;
  readonly source: RouteSource;
  readonly reason: string;
  readonly estimateUsd: number;
}

export interface RouteRefusal extends Routed {
  readonly ok: false;
  /** budget: every fitting model would exceed a budget; unavailable: every fit model is rate limited or its circuit is open; none: no model fits. */
  readonly kind: 'budget' | 'unavailable' | 'none';
  readonly reason: string;
  readonly retryAt?: number | undefined;
  readonly budget?: Exclude<BudgetCheck, { ok: true }> | undefined;
  /** The model the call would have gone to (the first candidate), for events and records. */
  readonly preferred?: ModelRef | undefined;
}

export type RouteDecision = RouteChoice | RouteRefusal;

export interface RouterDeps {
  readonly registry: ModelRegistry;
  readonly matrix: FullMatrix;
  readonly pins: RolePins;
  readonly runnerOverride?: string | undefined;
  readonly diversity: Diversity;
  readonly complexity: ComplexityThresholds;
  /** Apply seed 002's implementer step rules (`routing.preset: seed002`). */
  readonly stepRules?: boolean | undefined;
  readonly history?: { readonly store: HistoryStore; readonly settings: HistorySettings } | undefined;
  readonly budgets: Budgets;
  /** What the task, today and this month have spent so far. */
  readonly spend: (taskId: string) => Spend;
  readonly breaker?: CircuitBreaker | undefined;
  readonly runnerAvailable: (runner: string) => boolean;
  readonly random: () => number;
}

export interface Router {
  route(request: RouteRequest): RouteDecision;
  /**
   * Whether one more paid try on the chosen model (a repair of invalid output or a transient retry)
   * still fits the budgets: its estimate, or why it would exceed one.
   */
  retryFits(
    request: Pick<RouteRequest, 'role' | 'task' | 'promptChars' | 'budgetGrantUsd'> & { readonly key: string },
  ): { readonly ok: true; readonly estimateUsd: number } | { readonly ok: false; readonly reason: string };
}

interface Candidate {
  readonly key: string;
  readonly name?: string | undefined;
  readonly ref: ModelRef;
  readonly price?: { readonly input: number; readonly output: number } | undefined;
  readonly contextTokens?: number | undefined;
}

type Verdict = { readonly ok: true; readonly trial: boolean } | { readonly ok: false; readonly why: string; readonly until?: number | undefined };

const taskStepTypes: Readonly<Record<RoutedRole, string>> = {
  planner: 'plan',
  'plan-reviewer': 'plan_review',
  implementer: 'implementation',
  'code-reviewer': 'implementation',
  validator: 'validation',
};

export function createRouter(deps: RouterDeps): Router {
  const { registry } = deps;

  const candidateOf = (name: string): Candidate | undefined => {
    const m = registry.get(name);
    return m ? { key: name, name, ref: { provider: m.provider, model: m.model, runner: m.runner }, price: m.price, contextTokens: m.contextTokens } : undefined;
  };

  const pinCandidate = (pin: RolePin): Candidate | undefined => {
    if (typeof pin === 'string') return candidateOf(pin);
    const registered = registry.find(pin);
    if (registered) return { ...(candidateOf(registered.name) as Candidate), ref: { ...pin, runner: deps.runnerOverride ?? pin.runner } };
    return { key: modelKey(pin), ref: { ...pin, runner: deps.runnerOverride ?? pin.runner } };
  };

  const estimateOf = (c: Candidate, request: RouteRequest): number => {
    if (!c.price) return 0;
    const tokens = estimateCallTokens(request.role, request.promptChars);
    return usdFor(c.price, tokens.input, tokens.output);
  };

  function verdict(c: Candidate, request: RouteRequest): Verdict {
    if (request.tried?.includes(c.key)) return { ok: false, why: 'already tried in this call' };
    const objection = diversityObjection(c.ref, request.author, deps.diversity);
    if (objection) return { ok: false, why: objection };
    if (!deps.runnerAvailable(c.ref.runner)) return { ok: false, why: `no runner "${c.ref.runner}" is available` };
    const tokens = estimateCallTokens(request.role, request.promptChars).input;
    if (c.contextTokens !== undefined && tokens > c.contextTokens)
      return { ok: false, why: `the prompt (~${tokens} tokens) exceeds its context of ${c.contextTokens}` };
    const health = deps.breaker?.availability(c.key) ?? { ok: true, trial: false };
    return health.ok ? { ok: true, trial: health.trial } : { ok: false, why: health.reason, until: health.until };
  }

  return {
    retryFits(request) {
      const c = candidateOf(request.key);
      const estimate = c ? estimateOf(c, request) : 0;
      const limits = { task: request.task.budget_usd ?? deps.budgets.task_usd, day: deps.budgets.day_usd, month: deps.budgets.month_usd };
      const check = checkBudget(limits, deps.spend(request.task.id), estimate, request.budgetGrantUsd ?? 0);
      return check.ok ? { ok: true, estimateUsd: estimate } : { ok: false, reason: `${describeBudgetStop(check)}; no further try on ${request.key}` };
    },
    route(request) {
      const { role, task, step } = request;
      const complexity = step ? scoreStep(task, step) : scoreTask(task);
      const declared = step?.risk ?? task.risk;
      const scored = riskClass(declared, complexity, deps.complexity);
      const rule = deps.stepRules && step ? seed002StepRule(role, step, scored) : undefined;
      const risk = rule?.risk ?? scored;
      const area = rule?.area ?? task.area;
      const stepType = step?.type ?? taskStepTypes[role];
      const cell = resolveCell(deps.matrix, role, risk, area);
      const routed: Routed = { risk, area, stepType, complexity, cellPath: cell?.path };
      const why: string[] = [];
      why.push(`complexity ${describeComplexity(complexity)}${scored === declared ? '' : `, raising ${declared} risk to ${scored}`}`);
      if (rule) why.push(`${rule.why} (${risk} risk${rule.area ? `, ${rule.area} area` : ''})`);

      // 1. The candidates in order of preference, before any is checked.
      let ordered: Candidate[] = [];
      let source: RouteSource;
      const pin = deps.pins[role];
      if (request.fallbackFrom) {
        source = 'fallback';
        // With runner_override every model is a label on one runner: a fallback would hit the same backend.
        ordered = deps.runnerOverride === undefined ? registry.chain(request.fallbackFrom.name).flatMap((n) => candidateOf(n) ?? []) : [];
        why.push(
          `${request.fallbackFrom.name} failed (${request.fallbackFrom.reason}); ${deps.runnerOverride === undefined ? `its fallback chain: ${ordered.map((c) => c.key).join(' → ') || 'none'}` : `no fallback: every model runs on the "${deps.runnerOverride}" runner (runner_override)`}`,
        );
      } else if (pin !== undefined) {
        source = 'pin';
        const pinned = pinCandidate(pin);
        if (pinned) ordered = [pinned, ...(pinned.name ? registry.chain(pinned.name).flatMap((n) => candidateOf(n) ?? []) : [])];
        why.push(`pinned in roles.${role} to ${pinned?.key ?? '?'}`);
      } else {
        source = 'matrix';
        const names = cell?.models ?? [];
        ordered = names.flatMap((n) => candidateOf(n) ?? []);
        for (const n of names) ordered.push(...registry.chain(n).flatMap((c) => candidateOf(c) ?? []));
        why.push(cell ? `matrix ${cell.path} → ${names.join(', ')}` : `no matrix cell for ${role}/${risk}/${area}`);
      }
      // A reviewer must always find someone unlike the author: the rest of the registry is the last resort.
      // Not for a pin: a pinned model is replaced only by its configured fallback chain, never silently by
      // another model; without one the call is refused (it waits for the model, or for a person).
      if (request.author && source === 'matrix' && (role === 'plan-reviewer' || role === 'code-reviewer' || role === 'validator')) {
        ordered.push(...registry.names().flatMap((n) => candidateOf(n) ?? []));
      }
      ordered = ordered.filter((c, i) => ordered.findIndex((o) => o.key === c.key) === i);

      // 2. Which of them may take the call now.
      const usable: { c: Candidate; trial: boolean }[] = [];
      const skipped: { readonly key: string; readonly note: string }[] = [];
      let retryAt: number | undefined;
      let unavailable = 0;
      for (const c of ordered) {
        const v = verdict(c, request);
        if (v.ok) usable.push({ c, trial: v.trial });
        else {
          skipped.push({ key: c.key, note: `${c.key} skipped: ${v.why}` });
          if (v.until !== undefined) {
            unavailable++;
            retryAt = retryAt === undefined ? v.until : Math.min(retryAt, v.until);
          }
        }
      }

      // 3. History may prefer another usable model of the role (seed 002 Phase 3).
      const learning = deps.history;
      // Under runner_override the models are labels on one runner: there is nothing to learn about them.
      if (
        source === 'matrix' &&
        learning?.settings.enabled &&
        learning.settings.roles.includes(role) &&
        usable.length > 0 &&
        deps.runnerOverride === undefined
      ) {
        const inCell = usable.find((u) => cell?.models.includes(u.c.key));
        const matrixChoice = (inCell ?? usable[0])?.c.key as string;
        const fit = new Set([...rowModels(deps.matrix[role]), ...learning.settings.explore]);
        // Every model of the role's row and of `explore` may be learned, not only the cell's and their
        // fallback chains: each is checked like the rest (diversity, runner, breaker) before it may compete.
        for (const name of fit) {
          if (ordered.some((o) => o.key === name)) continue;
          const c = candidateOf(name);
          if (!c) continue;
          const v = verdict(c, request);
          if (v.ok) usable.push({ c, trial: v.trial });
        }
        const allowed = [matrixChoice, ...usable.map((u) => u.c.key).filter((k) => k !== matrixChoice && fit.has(k))];
        const decision = chooseByHistory({
          matrixChoice,
          allowed,
          explore: [...fit],
          outcomes: learning.store.cell({ role, area, risk, stepType }),
          settings: learning.settings,
          random: deps.random,
        });
        why.push(decision.reason);
        source = decision.source;
        const at = usable.findIndex((u) => u.c.key === decision.model);
        if (at > 0) usable.unshift(...usable.splice(at, 1));
      }

      const first = usable[0];
      if (!first) {
        const reason = [...why, ...skipped.map((s) => s.note)].join('; ');
        const preferred = ordered[0]?.ref;
        if (unavailable > 0) return { ok: false, kind: 'unavailable', reason, retryAt, preferred, ...routed };
        return { ok: false, kind: 'none', reason: `no model can take this call: ${reason}`, preferred, ...routed };
      }
      let chosen = first;
      if (source === 'matrix' && cell && !cell.models.includes(chosen.c.key)) source = 'fallback';
      if (source === 'pin' && chosen.c !== ordered[0]) source = 'fallback';
      // Why the models preferred over the chosen one were passed by.
      const chosenAt = ordered.indexOf(chosen.c);
      why.push(...skipped.filter((s) => ordered.findIndex((o) => o.key === s.key) < chosenAt).map((s) => s.note));

      // 4. Budgets: the call must fit, or a cheaper model of its fallback chain must.
      const limits = { task: task.budget_usd ?? deps.budgets.task_usd, day: deps.budgets.day_usd, month: deps.budgets.month_usd };
      const spend = deps.spend(task.id);
      const grant = request.budgetGrantUsd ?? 0;
      let estimate = estimateOf(chosen.c, request);
      const check = checkBudget(limits, spend, estimate, grant);
      if (!check.ok) {
        const stop = describeBudgetStop(check);
        const cheaper =
          deps.budgets.on_exceed === 'downgrade' && chosen.c.name
            ? registry
                .chain(chosen.c.name)
                .map((n) => usable.find((u) => u.c.key === n))
                .find(
                  (u): u is { c: Candidate; trial: boolean } =>
                    u !== undefined && estimateOf(u.c, request) < estimate && checkBudget(limits, spend, estimateOf(u.c, request), grant).ok,
                )
            : undefined;
        if (!cheaper) {
          const tail = deps.budgets.on_exceed === 'ask' ? 'budgets.on_exceed is `ask`' : `no cheaper model in the fallback chain of ${chosen.c.key} fits`;
          return { ok: false, kind: 'budget', reason: `${stop}; ${tail}`, budget: check, preferred: chosen.c.ref, ...routed };
        }
        why.push(`${stop} on ${chosen.c.key}; downgraded to ${cheaper.c.key}`);
        chosen = cheaper;
        source = 'downgrade';
        estimate = estimateOf(chosen.c, request);
      }
      if (request.author) why.push(`diversity (${deps.diversity}): the author is ${modelKey(request.author)}, the reviewer ${modelKey(chosen.c.ref)}`);
      if (chosen.trial) why.push(`${chosen.c.key}'s circuit is half-open: this is its trial call`);
      why.push(`estimated ${formatUsd(estimate)}`);
      return { ok: true, key: chosen.c.key, name: chosen.c.name, ref: chosen.c.ref, source, reason: why.join('; '), estimateUsd: estimate, ...routed };
    },
  };
}
