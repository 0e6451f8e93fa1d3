import type { Plan } from '../model/role-outputs.js';
import type { RoutingConfig } from './routing-options.js';
import type { Risk, TaskSpec } from '../model/task-spec.js';
import { startOfUtcDay, startOfUtcMonth } from './budget.js';
import { formatUsd } from '../platform/format.js';
import { describeComplexity, scoreTask, type Complexity } from './complexity.js';
import type { RoutedRole } from './config-schema.js';
import type { LedgerEntry } from './cost-ledger.js';
import { createHistoryStore, type StepOutcome } from './history-store.js';
import { mergeMatrix } from './matrix.js';
import { createModelRegistry, sumUsd } from './model-registry.js';
import { createRouter, type RouteDecision, type RouteStep } from './router.js';

/**
 * `tandem route --explain`: the decisions the router would make for a task, without calling any
 * model. A task the state dir has a plan for is shown with its real steps; before planning, the step
 * roles are shown for a step of each risk class. The recorded history and spend of the state dir, and
 * which runners are really installed, count as they would in a run.
 */

interface ExplainedCall {
  readonly role: RoutedRole;
  /** For the implementer and code reviewer: the risk class of the step. */
  readonly stepRisk?: Risk | undefined;
  /** The planned step, when the task has a plan. */
  readonly stepId?: string | undefined;
  readonly author?: string | undefined;
  readonly decision: RouteDecision;
}

export interface ExplainedTask {
  readonly id: string;
  readonly title?: string | undefined;
  readonly risk: Risk;
  readonly area: string;
  readonly type: string;
  readonly complexity: Complexity;
  readonly budget: {
    readonly task?: number | undefined;
    readonly day?: number | undefined;
    readonly month?: number | undefined;
    readonly spent: { task: number; day: number; month: number };
  };
  readonly calls: readonly ExplainedCall[];
  /** Whether the step roles are shown for the task's planned steps or for a hypothetical step of each risk. */
  readonly steps: 'planned' | 'hypothetical';
}

/** A prompt of about 2,000 tokens (seed 002 "Cost Estimation"); the real one is built from the repository. */
const TYPICAL_PROMPT_CHARS = 8_000;

export interface ExplainInput {
  readonly config: RoutingConfig;
  readonly tasks: readonly TaskSpec[];
  readonly ledger: readonly LedgerEntry[];
  readonly history: readonly StepOutcome[];
  readonly now: number;
  /** Approved plans of tasks the state dir knows, by task id. */
  readonly plans?: ReadonlyMap<string, Plan> | undefined;
  /** Whether a runner can take calls here (its CLI installed, its server up); default: every runner. */
  readonly runnerAvailable?: ((runner: string) => boolean) | undefined;
}

export function explainRouting(input: ExplainInput): ExplainedTask[] {
  const { config } = input;
  const registry = createModelRegistry(config.models, { runnerOverride: config.runner_override, strongest: config.routing.strongest });
  const history = createHistoryStore({ window: config.routing.history.window });
  for (const outcome of input.history) void history.record(outcome);
  const sinceSum = (since: number): number => sumUsd(input.ledger.filter((e) => e.at >= since).map((e) => e.usd));
  const day = sinceSum(startOfUtcDay(input.now));
  const month = sinceSum(startOfUtcMonth(input.now));
  const taskSpend = (taskId: string): number => sumUsd(input.ledger.filter((e) => e.task_id === taskId).map((e) => e.usd));
  const router = createRouter({
    registry,
    matrix: mergeMatrix(config.routing.matrix),
    pins: config.role_pins,
    runnerOverride: config.runner_override,
    diversity: config.routing.diversity,
    complexity: config.routing.complexity,
    history: { store: history, settings: config.routing.history },
    budgets: config.budgets,
    spend: (taskId) => ({ task: taskSpend(taskId), day, month }),
    runnerAvailable: input.runnerAvailable ?? (() => true),
    // Exploration is a coin toss in a real run; the explanation shows the choice it would exploit.
    random: () => 1,
  });

  return input.tasks.map((task) => {
    const calls: ExplainedCall[] = [];
    const keyOf = (d: RouteDecision): string | undefined => (d.ok ? `${d.ref.provider}/${d.ref.model}` : undefined);
    const planner = router.route({ role: 'planner', task, promptChars: TYPICAL_PROMPT_CHARS });
    calls.push({ role: 'planner', decision: planner });
    const plannerKey = keyOf(planner);
    calls.push({
      role: 'plan-reviewer',
      author: plannerKey,
      decision: router.route({ role: 'plan-reviewer', task, author: planner.ok ? planner.ref : undefined, promptChars: TYPICAL_PROMPT_CHARS }),
    });
    const plan = input.plans?.get(task.id);
    const steps: RouteStep[] = plan
      ? plan.steps
      : (['low', 'medium', 'high'] as const).map((risk) => ({
          id: 'S',
          type: 'implementation',
          risk,
          estimated_complexity: 'medium',
          files_to_create: [],
          files_to_modify: task.target_files,
          description: `${task.goal}\n${task.context ?? ''}`,
        }));
    for (const step of steps) {
      const stepId = plan ? step.id : undefined;
      const implementer = router.route({ role: 'implementer', task, step, promptChars: TYPICAL_PROMPT_CHARS });
      calls.push({ role: 'implementer', stepRisk: step.risk, stepId, decision: implementer });
      calls.push({
        role: 'code-reviewer',
        stepRisk: step.risk,
        stepId,
        author: keyOf(implementer),
        decision: router.route({ role: 'code-reviewer', task, step, author: implementer.ok ? implementer.ref : undefined, promptChars: TYPICAL_PROMPT_CHARS }),
      });
    }
    return {
      id: task.id,
      title: task.title,
      risk: task.risk,
      area: task.area,
      type: task.type,
      complexity: scoreTask(task),
      budget: {
        task: task.budget_usd ?? config.budgets.task_usd,
        day: config.budgets.day_usd,
        month: config.budgets.month_usd,
        spent: { task: taskSpend(task.id), day, month },
      },
      calls,
      steps: plan ? 'planned' : 'hypothetical',
    };
  });
}

function limit(value: number | undefined, spent: number): string {
  return value === undefined ? `no limit (${formatUsd(spent)} spent)` : `${formatUsd(value)} (${formatUsd(spent)} spent)`;
}

export function formatExplanation(tasks: readonly ExplainedTask[], options: { reasons: boolean }): string {
  const out: string[] = [];
  for (const t of tasks) {
    out.push(`${t.id}${t.title ? ` · ${t.title}` : ''} · ${t.risk} risk, area ${t.area}, ${t.type}`);
    out.push(`  complexity ${describeComplexity(t.complexity)}`);
    out.push(
      `  budgets: task ${limit(t.budget.task, t.budget.spent.task)} · day ${limit(t.budget.day, t.budget.spent.day)} · month ${limit(t.budget.month, t.budget.spent.month)}`,
    );
    const rows = t.calls.map((c) => {
      const who = c.stepId ? `${c.role} (step ${c.stepId}, ${c.stepRisk ?? '?'} risk)` : c.stepRisk ? `${c.role} (${c.stepRisk}-risk step)` : c.role;
      const d = c.decision;
      const choice = d.ok ? `${d.name ?? d.key} = ${d.ref.provider}/${d.ref.model} [${d.ref.runner}]` : `NONE (${d.kind})`;
      const how = d.ok ? `${d.source}, ~${formatUsd(d.estimateUsd)}` : d.kind;
      return { who, choice, how, reason: d.reason };
    });
    const whoWidth = Math.max(...rows.map((r) => r.who.length));
    const choiceWidth = Math.max(...rows.map((r) => r.choice.length));
    for (const r of rows) {
      out.push(`  ${r.who.padEnd(whoWidth)}  ${r.choice.padEnd(choiceWidth)}  ${r.how}`);
      if (options.reasons) out.push(`      why: ${r.reason}`);
    }
    out.push('');
  }
  const hypothetical = tasks.some((t) => t.steps === 'hypothetical');
  out.push(
    `No model was called.${hypothetical ? ' Steps do not exist before planning: for a task without a plan in the state dir, the step roles are shown for a step of each risk class.' : ''}`,
  );
  return `${out.join('\n')}\n`;
}
