import { z } from 'zod';
import { ModelRefSchema, type ModelRef } from '../model/execution.js';
import {
  BudgetsSchema,
  defaultModels,
  ModelEntrySchema,
  ModelNameSchema,
  reviewerAuthors,
  RolePinsSchema,
  routedRoles,
  RoutingSchema,
  type Budgets,
  type Diversity,
  type ModelEntry,
  type RolePin,
  type RolePins,
  type Routing,
  type RoutedRole,
} from './config-schema.js';
import { diversityObjection } from './diversity.js';
import { findFallbackCycles } from './fallback-chain.js';
import { mergeMatrix, resolveCell, uncoveredCells, type FullMatrix } from './matrix.js';

/*
 * Routing's own options, as the config file writes them (`routingOptionsShape`), their cross-field
 * rules (`routingIssues`) and what parsing resolves them to (`resolveRouting` → `RoutingConfig`).
 * src/config/schema.ts composes these into the whole config; routing reads only `RoutingConfig`.
 */

export const routingOptionsShape = {
  /** Pins roles to one model each, bypassing the routing matrix: a name from `models`, or `{provider, model, runner}`. */
  roles: RolePinsSchema.optional(),
  /** The model registry, by name; entries here are added to (or replace) the shipped flash, pro, haiku, sonnet, opus, codex and local. */
  models: z.record(ModelNameSchema, ModelEntrySchema).default({}),
  routing: RoutingSchema.default(RoutingSchema.parse({})),
  budgets: BudgetsSchema.default(BudgetsSchema.parse({})),
  /** Use this runner for every role (e.g. `scripted`), keeping the models as labels. */
  runner_override: z.string().min(1).optional(),
};
type RoutingInput = z.output<z.ZodObject<typeof routingOptionsShape>>;

/** What routing reads of the parsed config: the registry and matrix resolved, the pins kept apart. */
export interface RoutingConfig {
  readonly models: Readonly<Record<string, ModelEntry>>;
  readonly routing: Omit<Routing, 'matrix'> & { readonly matrix: FullMatrix };
  readonly role_pins: RolePins;
  readonly roles: RoleModels;
  readonly budgets: Budgets;
  readonly runner_override?: string | undefined;
}

/** Resolves the registry and matrix (the user's entries over the shipped ones), keeps the pins as `role_pins`. */
export function resolveRouting<T extends RoutingInput>(c: T): Omit<T, 'roles' | 'models' | 'routing'> & RoutingConfig {
  const models = { ...defaultModels, ...c.models };
  const matrix = mergeMatrix(c.routing.matrix, c.routing.preset);
  const pins: RolePins = c.roles ?? {};
  // An unpinned validator follows a pinned code reviewer: already a model unlike the implementer's,
  // on a runner the user chose, so pinning the four step roles never leaves the validator unreachable.
  const role_pins: RolePins = pins.validator === undefined && pins['code-reviewer'] !== undefined ? { ...pins, validator: pins['code-reviewer'] } : pins;
  return { ...c, models, routing: { ...c.routing, matrix }, role_pins, roles: effectiveRoleModels(models, matrix, role_pins, c.routing.diversity) };
}

const RoleModelsSchema = z.strictObject({
  planner: ModelRefSchema,
  'plan-reviewer': ModelRefSchema,
  implementer: ModelRefSchema,
  'code-reviewer': ModelRefSchema,
  validator: ModelRefSchema,
});
type RoleModels = z.infer<typeof RoleModelsSchema>;

/** What the shipped routing gives a medium-risk task in area `general` (see `effectiveRoleModels`). */
const defaultRoleModels: RoleModels = {
  planner: { provider: 'anthropic', model: 'claude-sonnet-4-5', runner: 'claude-code' },
  'plan-reviewer': { provider: 'google', model: 'gemini-2.5-pro', runner: 'gemini-cli' },
  implementer: { provider: 'openai', model: 'gpt-5-codex', runner: 'codex-cli' },
  'code-reviewer': { provider: 'anthropic', model: 'claude-sonnet-4-5', runner: 'claude-code' },
  validator: { provider: 'anthropic', model: 'claude-sonnet-4-5', runner: 'claude-code' },
};

function pinRef(models: Readonly<Record<string, ModelEntry>>, pin: RolePin): ModelRef | undefined {
  if (typeof pin !== 'string') return pin;
  const entry = models[pin];
  return entry ? { provider: entry.provider, model: entry.model, runner: entry.runner } : undefined;
}

function isReviewer(role: RoutedRole): role is keyof typeof reviewerAuthors {
  return Object.hasOwn(reviewerAuthors, role);
}

/** Each role's model for a medium-risk task in area `general`: what banners and `doctor` show. */
function effectiveRoleModels(models: Readonly<Record<string, ModelEntry>>, matrix: FullMatrix, pins: RolePins, diversity: Diversity): RoleModels {
  const chosen: Partial<Record<RoutedRole, ModelRef>> = {};
  for (const role of routedRoles) {
    const pinned = pins[role] === undefined ? undefined : pinRef(models, pins[role]);
    if (pinned) {
      chosen[role] = pinned;
      continue;
    }
    const author = isReviewer(role) ? chosen[reviewerAuthors[role]] : undefined;
    const names = resolveCell(matrix, role, 'medium', 'general')?.models ?? [];
    const refs = [...names, ...Object.keys(models)].flatMap((n) => pinRef(models, n) ?? []);
    chosen[role] = refs.find((r) => diversityObjection(r, author, diversity) === undefined) ?? refs[0] ?? defaultRoleModels[role];
  }
  return RoleModelsSchema.parse(chosen);
}

export function routingIssues(c: RoutingInput, ctx: z.RefinementCtx): void {
  const issue = (path: (string | number)[], message: string): void => void ctx.addIssue({ code: 'custom', path, message });
  const models = { ...defaultModels, ...c.models };
  const names = Object.keys(models);
  const known = (name: string): boolean => Object.hasOwn(models, name);
  const undefinedModel = (name: string): string => `model \`${name}\` is not defined in \`models\` (defined: ${names.join(', ')})`;

  for (const [name, entry] of Object.entries(c.models)) {
    if (entry.fallback !== undefined && !known(entry.fallback)) issue(['models', name, 'fallback'], undefinedModel(entry.fallback));
    if (entry.fallback === name) issue(['models', name, 'fallback'], `a model cannot fall back to itself`);
  }
  for (const cycle of findFallbackCycles(names, (n) => models[n]?.fallback)) {
    if (cycle.length < 2) continue;
    const at = cycle.find((n) => Object.hasOwn(c.models, n)) ?? cycle[0] ?? '';
    const loop = [...cycle.slice(cycle.indexOf(at)), ...cycle.slice(0, cycle.indexOf(at)), at];
    issue(['models', at, 'fallback'], `fallback cycle: ${loop.join(' → ')}; a chain must end at a model without \`fallback\``);
  }

  for (const role of routedRoles) {
    const row = c.routing.matrix[role];
    if (!row) continue;
    let emptyCells = 0;
    for (const [risk, areaCells] of Object.entries(row)) {
      for (const [area, cell] of Object.entries(areaCells ?? {})) {
        if (cell === undefined) continue;
        const path = ['routing', 'matrix', role, risk, area];
        if (Array.isArray(cell) && cell.length === 0) {
          emptyCells++;
          issue(path, 'this matrix cell names no model: give a name from `models`, or a list of them');
        }
        if (typeof cell === 'string') {
          if (!known(cell)) issue(path, undefinedModel(cell));
        } else cell.forEach((name, i) => known(name) || issue([...path, i], undefinedModel(name)));
      }
    }
    const holes = uncoveredCells(row);
    if (holes.length > 0 && emptyCells === 0) {
      const shown = holes
        .slice(0, 4)
        .map((h) => `${h.risk}/${h.area}`)
        .join(', ');
      issue(['routing', 'matrix', role], `no model for ${shown}${holes.length > 4 ? ` and ${holes.length - 4} more` : ''}: add cells, or an \`any\` cell`);
    }
  }

  for (const role of routedRoles) {
    const pin = c.roles?.[role];
    if (typeof pin === 'string' && !known(pin)) issue(['roles', role], undefinedModel(pin));
  }
  if (!known(c.routing.strongest)) issue(['routing', 'strongest'], undefinedModel(c.routing.strongest));
  c.routing.history.explore.forEach((name, i) => known(name) || issue(['routing', 'history', 'explore', i], undefinedModel(name)));
  if (c.routing.complexity.medium_at > c.routing.complexity.high_at)
    issue(['routing', 'complexity', 'medium_at'], `must not be above high_at (${c.routing.complexity.high_at})`);
  if (c.routing.diversity === 'provider' && new Set(Object.values(models).map((m) => m.provider)).size < 2) {
    issue(
      ['routing', 'diversity'],
      'reviewers need a model of another provider than the author, but every model in `models` has the same provider; add one, or set `diversity: model`',
    );
  }

  // A reviewer pinned to the author's model would share its blind spots (seed 002: "must be a different model").
  for (const [reviewer, author] of Object.entries(reviewerAuthors) as [keyof typeof reviewerAuthors, RoutedRole][]) {
    const a = c.roles?.[author] === undefined ? undefined : pinRef(models, c.roles[author]);
    const r = c.roles?.[reviewer] === undefined ? undefined : pinRef(models, c.roles[reviewer]);
    if (!a || !r) continue;
    const field = typeof c.roles?.[reviewer] === 'string' ? ['roles', reviewer] : ['roles', reviewer, 'model'];
    if (a.model === r.model) issue(field, `the ${reviewer} must use a different model than the ${author} (both are ${a.model})`);
    else if (c.routing.diversity === 'provider' && a.provider === r.provider) {
      issue(
        typeof c.roles?.[reviewer] === 'string' ? field : ['roles', reviewer, 'provider'],
        `the ${reviewer} must use another provider than the ${author} (both are ${a.provider}), or set \`routing.diversity: model\``,
      );
    }
  }
}
