import { z } from 'zod';
import { NatsSettingsSchema } from './nats-settings.js';
import { ModelRefSchema, type ModelRef } from '../agents/runners/agent-runner.js';
import { CheckKindSchema } from '../gate/report.js';
import {
  BudgetsSchema,
  defaultModels,
  ModelEntrySchema,
  ModelNameSchema,
  reviewerAuthors,
  RolePinsSchema,
  routedRoles,
  RoutingSchema,
  type Diversity,
  type ModelEntry,
  type RolePin,
  type RolePins,
  type RoutedRole,
} from '../routing/config-schema.js';
import { diversityObjection } from '../routing/diversity.js';
import { findFallbackCycles } from '../routing/fallback-chain.js';
import { mergeMatrix, resolveCell, uncoveredCells, type FullMatrix } from '../routing/matrix.js';
import { API_PARSERS, ChangeSizeSchema, COVERAGE_PARSERS, CoverageParserNameSchema, ParserNameSchema, TEST_PARSERS } from '../gate/parser-names.js';
import { CliRunnersConfigSchema } from '../agents/runners/runner-settings.js';

export const LogLevelSchema = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export const GateCheckConfigSchema = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'must be letters, digits, ".", "-" or "_"'),
    kind: CheckKindSchema.default('custom'),
    /** Run through the shell, in the task's worktree; `$TANDEM_GATE_OUT` is a fresh folder for reports. */
    command: z.string().min(1),
    timeout_ms: z.number().int().positive().default(300_000),
    /** How to read the output. Without a parser only the exit code counts. */
    parser: ParserNameSchema.optional(),
    /** The file the parser reads instead of stdout (a folder for `declarations`), relative to the worktree or under `$TANDEM_GATE_OUT`. */
    report: z.string().min(1).optional(),
    /** A coverage report the same command writes (e.g. `vitest --coverage`), compared with the base's. */
    coverage: z.strictObject({ parser: CoverageParserNameSchema, report: z.string().min(1) }).optional(),
    /** `declarations` only: the .d.ts files (relative to `report`) that make the public API. Default: index.d.ts, else every file. */
    entries: z.array(z.string().min(1)).min(1).optional(),
    /** The change sizes this check runs on. Default: all. */
    runs_on: z.array(ChangeSizeSchema).min(1).optional(),
    /** Runs one failing test alone to tell a flaky test from a broken one; `{file}`, `{name}` and `{pattern}` are filled in, shell-quoted. */
    rerun: z.string().min(1).optional(),
  })
  .superRefine((check, ctx) => {
    const problem = (path: string, message: string): void => void ctx.addIssue({ code: 'custom', path: [path], message });
    if (check.parser === 'declarations' && check.report === undefined) problem('report', 'the declarations parser reads a folder: set `report` to the --outDir that tsc writes the .d.ts files to');
    if (check.kind === 'api' && !isOneOf(check.parser, API_PARSERS)) problem('parser', `an api check needs an api parser (${API_PARSERS.join(', ')})`);
    if (check.kind === 'coverage' && check.coverage === undefined && !isOneOf(check.parser, COVERAGE_PARSERS)) {
      problem('parser', `a coverage check needs a coverage parser (${COVERAGE_PARSERS.join(', ')}) or a \`coverage\` report`);
    }
    if (check.entries !== undefined && check.parser !== 'declarations') problem('entries', 'entries only apply to `parser: declarations`');
    if (check.rerun !== undefined && !isOneOf(check.parser, TEST_PARSERS)) problem('rerun', `only a check with a test parser (${TEST_PARSERS.join(', ')}) can re-run a failing test`);
  });
export type GateCheckConfig = z.infer<typeof GateCheckConfigSchema>;

function isOneOf(value: string | undefined, list: readonly string[]): boolean {
  return value !== undefined && list.includes(value);
}

export const ChangeSizeLimitSchema = z.strictObject({
  /** Lines added plus lines deleted, against the base. */
  max_lines: z.number().int().nonnegative(),
  max_files: z.number().int().positive(),
});

/** The largest change of each class; anything bigger than `medium` is LARGE. */
export const ChangeSizeLimitsSchema = z.strictObject({
  trivial: ChangeSizeLimitSchema.default({ max_lines: 5, max_files: 1 }),
  small: ChangeSizeLimitSchema.default({ max_lines: 50, max_files: 3 }),
  medium: ChangeSizeLimitSchema.default({ max_lines: 300, max_files: 10 }),
});
export type ChangeSizeLimits = z.infer<typeof ChangeSizeLimitsSchema>;

export const FlakyPolicySchema = z.enum(['fail', 'warn']);
export type FlakyPolicy = z.infer<typeof FlakyPolicySchema>;

/** The gate section of tandem.config.yaml, and the whole of a repository's `.tandem/quality.yaml`. */
export const GateConfigSchema = z.strictObject({
  /** When empty, the gate runs `npm test` if the repository's package.json has a test script. */
  checks: z
    .array(GateCheckConfigSchema)
    .default([])
    .superRefine((checks, ctx) => {
      const seen = new Set<string>();
      checks.forEach((check, index) => {
        if (seen.has(check.name)) ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `another check is already named "${check.name}"; names must be unique` });
        seen.add(check.name);
      });
    }),
  excerpt_lines: z.number().int().positive().default(60),
  /** Percentage points line coverage may drop before the gate fails. */
  coverage_tolerance: z.number().min(0).max(100).default(0),
  /** A test that failed and passed when re-run alone: still fail the step, or pass it with a warning. */
  flaky_tests: FlakyPolicySchema.default('fail'),
  /** Failing tests of a check are re-run alone when at most this many failed (more is a broken change, not flakiness). */
  flaky_reruns: z.number().int().min(0).max(20).default(3),
  change_size: ChangeSizeLimitsSchema.default(ChangeSizeLimitsSchema.parse({})),
  /** Untracked folders of the task's worktree (installed dependencies) linked into the base's worktree. */
  baseline_links: z.array(z.string().min(1)).default(['node_modules', '.venv', 'venv']),
});
export type GateConfig = z.infer<typeof GateConfigSchema>;

export const RoleModelsSchema = z.strictObject({
  planner: ModelRefSchema,
  'plan-reviewer': ModelRefSchema,
  implementer: ModelRefSchema,
  'code-reviewer': ModelRefSchema,
});
export type RoleModels = z.infer<typeof RoleModelsSchema>;

/** What the shipped routing gives a medium-risk task in area `general` (see `effectiveRoleModels`). */
export const defaultRoleModels: RoleModels = {
  planner: { provider: 'anthropic', model: 'claude-sonnet-4-5', runner: 'claude-code' },
  'plan-reviewer': { provider: 'google', model: 'gemini-2.5-pro', runner: 'gemini-cli' },
  implementer: { provider: 'openai', model: 'gpt-5-codex', runner: 'codex-cli' },
  'code-reviewer': { provider: 'anthropic', model: 'claude-sonnet-4-5', runner: 'claude-code' },
};

export const LimitsSchema = z.strictObject({
  /** Attempts per step (and planner calls per plan round) before a person is asked. */
  max_attempts: z.number().int().min(1).max(20).default(3),
  /** Plan review rounds that may ask for a revision before a person is asked. */
  max_plan_rounds: z.number().int().min(1).max(10).default(3),
  /** Invalid model output fed back to the model before the attempt counts as failed. */
  max_output_repairs: z.number().int().min(0).max(5).default(2),
  /** Retries of transient runner errors (timeout, overloaded, crashed) within one attempt. */
  max_transient_retries: z.number().int().min(0).max(10).default(2),
  retry_base_delay_ms: z.number().int().nonnegative().default(1_000),
  role_timeout_ms: z.number().int().positive().default(30 * 60_000),
  /** Longest rate-limit pause honoured before a person is asked instead. */
  max_pause_ms: z.number().int().positive().default(6 * 3_600_000),
});
export type Limits = z.infer<typeof LimitsSchema>;

/** The config as written; `ConfigSchema` validates it as a whole and resolves the routing. */
export const ConfigObjectSchema = z.strictObject({
  /** Where task records, snapshots, logs and worktrees live. Relative to the cwd. */
  state_dir: z.string().min(1).default('.tandem'),
  concurrency: z.number().int().min(1).max(256).default(2),
  /** Base branch; defaults to the repository's current branch. */
  base: z.string().min(1).optional(),
  /** Pins roles to one model each, bypassing the routing matrix: a name from `models`, or `{provider, model, runner}`. */
  roles: RolePinsSchema.optional(),
  /** The model registry, by name; entries here are added to (or replace) the shipped flash, pro, haiku, sonnet, opus, codex and local. */
  models: z.record(ModelNameSchema, ModelEntrySchema).default({}),
  routing: RoutingSchema.default(RoutingSchema.parse({})),
  budgets: BudgetsSchema.default(BudgetsSchema.parse({})),
  /** Use this runner for every role (e.g. `scripted`), keeping the models as labels. */
  runner_override: z.string().min(1).optional(),
  /** Settings per runner: the scripted runner's script, and each coding CLI's and Ollama's own. */
  runners: z
    .strictObject({
      scripted: z.strictObject({ script: z.string().min(1).optional() }).default({}),
      ...CliRunnersConfigSchema.shape,
    })
    .default(() => ({ scripted: {}, ...CliRunnersConfigSchema.parse({}) })),
  gate: GateConfigSchema.default(GateConfigSchema.parse({})),
  limits: LimitsSchema.default(LimitsSchema.parse({})),
  /** Log level on stderr; when unset each command picks its own (quiet for interactive runs). */
  log_level: LogLevelSchema.optional(),
  /** Distributed mode (`serve`, `submit`, `--nats`): servers, credentials, TLS, reconnection. */
  nats: NatsSettingsSchema.optional(),
});

/**
 * The whole config: cross-field rules (every model named exists, no fallback cycle, every matrix
 * cell has a model, reviewers differ from authors) are checked here so that every way of building
 * a config gets them, with the path of the bad field. Parsing resolves the registry and matrix
 * (the user's entries over the shipped ones), keeps the pins as `role_pins`, and gives `roles`
 * as the model each role uses for a medium-risk task in area `general`.
 */
export const ConfigSchema = ConfigObjectSchema.superRefine(routingIssues).transform((c) => {
  const models = { ...defaultModels, ...c.models };
  const matrix = mergeMatrix(c.routing.matrix);
  const role_pins: RolePins = c.roles ?? {};
  return { ...c, models, routing: { ...c.routing, matrix }, role_pins, roles: effectiveRoleModels(models, matrix, role_pins, c.routing.diversity) };
});
export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;

function pinRef(models: Readonly<Record<string, ModelEntry>>, pin: RolePin): ModelRef | undefined {
  if (typeof pin !== 'string') return pin;
  const entry = models[pin];
  return entry ? { provider: entry.provider, model: entry.model, runner: entry.runner } : undefined;
}

/** Each role's model for a medium-risk task in area `general`: what banners and `doctor` show. */
export function effectiveRoleModels(models: Readonly<Record<string, ModelEntry>>, matrix: FullMatrix, pins: RolePins, diversity: Diversity): RoleModels {
  const chosen: Partial<Record<RoutedRole, ModelRef>> = {};
  for (const role of routedRoles) {
    const pinned = pins[role] === undefined ? undefined : pinRef(models, pins[role]);
    if (pinned) {
      chosen[role] = pinned;
      continue;
    }
    const author = role === 'plan-reviewer' || role === 'code-reviewer' ? chosen[reviewerAuthors[role]] : undefined;
    const names = resolveCell(matrix, role, 'medium', 'general')?.models ?? [];
    const refs = [...names, ...Object.keys(models)].flatMap((n) => pinRef(models, n) ?? []);
    chosen[role] = refs.find((r) => diversityObjection(r, author, diversity) === undefined) ?? refs[0] ?? defaultRoleModels[role];
  }
  return RoleModelsSchema.parse(chosen);
}

function routingIssues(c: z.output<typeof ConfigObjectSchema>, ctx: z.RefinementCtx): void {
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
      const shown = holes.slice(0, 4).map((h) => `${h.risk}/${h.area}`).join(', ');
      issue(['routing', 'matrix', role], `no model for ${shown}${holes.length > 4 ? ` and ${holes.length - 4} more` : ''}: add cells, or an \`any\` cell`);
    }
  }

  for (const role of routedRoles) {
    const pin = c.roles?.[role];
    if (typeof pin === 'string' && !known(pin)) issue(['roles', role], undefinedModel(pin));
  }
  if (!known(c.routing.strongest)) issue(['routing', 'strongest'], undefinedModel(c.routing.strongest));
  c.routing.history.explore.forEach((name, i) => known(name) || issue(['routing', 'history', 'explore', i], undefinedModel(name)));
  if (c.routing.complexity.medium_at > c.routing.complexity.high_at) issue(['routing', 'complexity', 'medium_at'], `must not be above high_at (${c.routing.complexity.high_at})`);
  if (c.routing.diversity === 'provider' && new Set(Object.values(models).map((m) => m.provider)).size < 2) {
    issue(['routing', 'diversity'], 'reviewers need a model of another provider than the author, but every model in `models` has the same provider; add one, or set `diversity: model`');
  }

  // A reviewer pinned to the author's model would share its blind spots (seed 002: "must be a different model").
  for (const [reviewer, author] of Object.entries(reviewerAuthors) as [keyof typeof reviewerAuthors, RoutedRole][]) {
    const a = c.roles?.[author] === undefined ? undefined : pinRef(models, c.roles[author]);
    const r = c.roles?.[reviewer] === undefined ? undefined : pinRef(models, c.roles[reviewer]);
    if (!a || !r) continue;
    const field = typeof c.roles?.[reviewer] === 'string' ? ['roles', reviewer] : ['roles', reviewer, 'model'];
    if (a.model === r.model) issue(field, `the ${reviewer} must use a different model than the ${author} (both are ${a.model})`);
    else if (c.routing.diversity === 'provider' && a.provider === r.provider) {
      issue(typeof c.roles?.[reviewer] === 'string' ? field : ['roles', reviewer, 'provider'], `the ${reviewer} must use another provider than the ${author} (both are ${a.provider}), or set \`routing.diversity: model\``);
    }
  }
}
