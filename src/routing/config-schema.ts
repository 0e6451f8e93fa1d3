import { z } from 'zod';
import { ModelRefSchema } from '../model/execution.js';

/**
 * The `models`, `routing` and `budgets` sections of tandem.config.yaml (DESIGN §6). They live here,
 * beside the code that reads them, and src/config/schema.ts composes them into the whole config.
 * Nothing in this file imports the config, so the config can import it without a cycle.
 */

export const ModelNameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be a short name of letters, digits, ".", "-" or "_"');

export const ModelEntrySchema = z.strictObject({
  provider: z.string().min(1),
  /** The model id the runner passes to its backend, e.g. `claude-sonnet-4-5`. */
  model: z.string().min(1),
  /** The AgentRunner that speaks to it: claude-code, gemini-cli, codex-cli, ollama, scripted. */
  runner: z.string().min(1),
  /** List price in USD per million tokens. */
  price: z.strictObject({ input: z.number().min(0), output: z.number().min(0) }),
  /** Largest prompt the model takes, in tokens; a longer prompt is routed elsewhere. */
  context_tokens: z.number().int().positive(),
  /** Calls in flight at once, shared by every task of the process. */
  concurrency: z.number().int().min(1).max(256).default(4),
  /** Model used when this one is rate limited, failing, or (when cheaper) over budget. */
  fallback: ModelNameSchema.optional(),
});
export type ModelEntry = z.infer<typeof ModelEntrySchema>;
export type ModelEntryInput = z.input<typeof ModelEntrySchema>;

/**
 * The shipped registry: DESIGN §6 tiers with list prices at the time of writing. Fallback chains
 * follow seed 000 (flash → haiku) and move a rate-limited call to another provider; none loops.
 */
export const defaultModels: Readonly<Record<string, ModelEntry>> = {
  flash: {
    provider: 'google',
    model: 'gemini-2.5-flash',
    runner: 'gemini-cli',
    price: { input: 0.3, output: 2.5 },
    context_tokens: 1_048_576,
    concurrency: 4,
    fallback: 'haiku',
  },
  pro: {
    provider: 'google',
    model: 'gemini-2.5-pro',
    runner: 'gemini-cli',
    price: { input: 1.25, output: 10 },
    context_tokens: 1_048_576,
    concurrency: 2,
    fallback: 'flash',
  },
  haiku: { provider: 'anthropic', model: 'claude-haiku-4-5', runner: 'claude-code', price: { input: 1, output: 5 }, context_tokens: 200_000, concurrency: 4 },
  sonnet: {
    provider: 'anthropic',
    model: 'claude-sonnet-4-5',
    runner: 'claude-code',
    price: { input: 3, output: 15 },
    context_tokens: 200_000,
    concurrency: 2,
    fallback: 'pro',
  },
  opus: {
    provider: 'anthropic',
    model: 'claude-opus-4-5',
    runner: 'claude-code',
    price: { input: 5, output: 25 },
    context_tokens: 200_000,
    concurrency: 1,
    fallback: 'sonnet',
  },
  codex: {
    provider: 'openai',
    model: 'gpt-5-codex',
    runner: 'codex-cli',
    price: { input: 1.25, output: 10 },
    context_tokens: 400_000,
    concurrency: 2,
    fallback: 'pro',
  },
  local: { provider: 'ollama', model: 'qwen2.5-coder:7b', runner: 'ollama', price: { input: 0, output: 0 }, context_tokens: 32_768, concurrency: 1 },
};

/** The roles routed by the matrix; the mediator always runs on its own local model (seed 003). */
export const RoutedRoleSchema = z.enum(['planner', 'plan-reviewer', 'implementer', 'code-reviewer', 'validator']);
export type RoutedRole = z.infer<typeof RoutedRoleSchema>;
export const routedRoles = RoutedRoleSchema.options;

/** Each reviewing role and the role whose work it judges (the validator judges the implementer's whole branch). */
export const reviewerAuthors = { 'plan-reviewer': 'planner', 'code-reviewer': 'implementer', validator: 'implementer' } as const satisfies Partial<
  Record<RoutedRole, RoutedRole>
>;

/** One cell: a model name, or names in order of preference (a reviewer takes the first that differs from the author). */
const MatrixCellSchema = z.union([ModelNameSchema, z.array(ModelNameSchema)], {
  error: 'a matrix cell needs a model: a name from `models`, or a list of names',
});
export type MatrixCell = z.infer<typeof MatrixCellSchema>;

const areaCells = {
  core: MatrixCellSchema.optional(),
  math: MatrixCellSchema.optional(),
  api: MatrixCellSchema.optional(),
  services: MatrixCellSchema.optional(),
  docs: MatrixCellSchema.optional(),
  comments: MatrixCellSchema.optional(),
  tests: MatrixCellSchema.optional(),
  general: MatrixCellSchema.optional(),
  any: MatrixCellSchema.optional(),
};
/** Area → cell; `any` answers every area without its own cell. */
const MatrixRiskRowSchema = z.strictObject(areaCells);
export type MatrixRiskRow = z.infer<typeof MatrixRiskRowSchema>;

/** Risk → areas; `any` answers every risk without its own row. */
const MatrixRoleSchema = z.strictObject({
  high: MatrixRiskRowSchema.optional(),
  medium: MatrixRiskRowSchema.optional(),
  low: MatrixRiskRowSchema.optional(),
  any: MatrixRiskRowSchema.optional(),
});
export type MatrixRole = z.infer<typeof MatrixRoleSchema>;

const RoutingMatrixSchema = z.strictObject({
  planner: MatrixRoleSchema.optional(),
  'plan-reviewer': MatrixRoleSchema.optional(),
  implementer: MatrixRoleSchema.optional(),
  'code-reviewer': MatrixRoleSchema.optional(),
  validator: MatrixRoleSchema.optional(),
});
export type RoutingMatrix = z.infer<typeof RoutingMatrixSchema>;

/**
 * Seed 002 "Model Routing Matrix": Sonnet for high-risk core and math, Pro for API work and for
 * planning tests and docs, Flash for low-risk work. Cells the seed leaves open follow DESIGN §5:
 * Sonnet plans the rest, Codex (a coding CLI) implements medium-risk work outside the API.
 * Reviewers take Sonnet unless the author is on Anthropic, then Pro (seed 002 "Cost Estimation").
 */
export const defaultMatrix: Required<RoutingMatrix> = {
  planner: {
    high: { core: 'sonnet', math: 'sonnet', api: 'pro', services: 'pro', any: 'sonnet' },
    medium: { api: 'pro', services: 'pro', tests: 'pro', docs: 'pro', any: 'sonnet' },
    low: { any: 'flash' },
  },
  'plan-reviewer': { any: { any: ['sonnet', 'pro', 'haiku'] } },
  implementer: {
    high: { core: 'sonnet', math: 'sonnet', api: 'pro', services: 'pro', any: 'sonnet' },
    medium: { api: 'pro', services: 'pro', any: 'codex' },
    low: { any: 'flash' },
  },
  'code-reviewer': { any: { any: ['sonnet', 'pro', 'haiku'] } },
  // Seeds 000/001 validate with Sonnet, a stronger model than most implementers; Pro when the implementer is on Anthropic.
  validator: { high: { any: ['opus', 'pro', 'sonnet'] }, any: { any: ['sonnet', 'pro', 'opus'] } },
};

/**
 * `routing.preset: seed002`: seed 002's matrix exactly, its holes filled by its own rules (§2.1 "risk
 * high or area core|math → Sonnet, medium → Pro, low → Flash"; §2.3 `choose_implementer`: high →
 * Sonnet, tests or docs at low risk → Flash, otherwise Pro), and its step rules (see `stepRules`).
 * Only Anthropic and Google models: the seed names no other provider.
 */
export const seed002Matrix: Required<RoutingMatrix> = {
  planner: {
    high: { api: 'pro', services: 'pro', any: 'sonnet' },
    medium: { core: 'sonnet', math: 'sonnet', any: 'pro' },
    low: { core: 'sonnet', math: 'sonnet', any: 'flash' },
  },
  'plan-reviewer': { any: { any: ['sonnet', 'pro'] } },
  implementer: {
    high: { any: 'sonnet' },
    medium: { core: 'sonnet', math: 'sonnet', any: 'pro' },
    low: { tests: 'flash', docs: 'flash', comments: 'flash', any: 'pro' },
  },
  'code-reviewer': { any: { any: ['sonnet', 'pro'] } },
  // Seeds 000/001: a stronger model validates the branch; Opus, Sonnet and Pro are all the seed's providers.
  validator: { high: { any: ['opus', 'pro', 'sonnet'] }, any: { any: ['sonnet', 'pro', 'opus'] } },
};

const RoutingPresetSchema = z.enum(['default', 'seed002']);
export type RoutingPreset = z.infer<typeof RoutingPresetSchema>;

const DiversitySchema = z.enum(['provider', 'model']);
export type Diversity = z.infer<typeof DiversitySchema>;

const HistorySettingsSchema = z.strictObject({
  /** Prefer the model with the best success per dollar in a cell once it has enough samples. */
  enabled: z.boolean().default(true),
  min_samples: z.number().int().min(1).default(20),
  /** Share of decisions that try another model of the role's matrix row, so its record can grow. */
  exploration: z.number().min(0).max(0.5).default(0.05),
  /** A model whose success rate is this far below the cell's best still counts as "as good". */
  tolerance: z.number().min(0).max(1).default(0.05),
  /** Below this success rate a model is never preferred, however cheap (seed 002: > 0.8). */
  min_success_rate: z.number().min(0).max(1).default(0.8),
  /** Recent outcomes kept per cell and model. */
  window: z.number().int().min(1).default(500),
  /** Roles that learn. Reviewers are left out by default: a cheap reviewer that approves everything would look perfect. */
  roles: z.array(RoutedRoleSchema).default(['planner', 'implementer']),
  /** More models to explore beyond the role's matrix row. */
  explore: z.array(ModelNameSchema).default([]),
});
export type HistorySettings = z.infer<typeof HistorySettingsSchema>;

const BreakerSettingsSchema = z.strictObject({
  /** Consecutive failed calls that open a model's circuit. */
  failures: z.number().int().min(1).default(5),
  /** How long an open circuit rejects calls before one trial call is let through. */
  cooldown_ms: z.number().int().positive().default(60_000),
});

const ComplexitySettingsSchema = z.strictObject({
  /** A complexity score from here up routes at least as medium risk. */
  medium_at: z.number().min(0).max(10).default(5),
  /** A complexity score from here up routes as high risk. */
  high_at: z.number().min(0).max(10).default(8),
});

export const RoutingSchema = z.strictObject({
  /** The shipped matrix the user's rows are merged over: tandem's default, or seed 002's table and step rules. */
  preset: RoutingPresetSchema.default('default'),
  /** role → risk → area → model; merged over the preset's matrix role by role. */
  matrix: RoutingMatrixSchema.default({}),
  /** A reviewer never uses the author's model; with `provider` (default) not its provider either. */
  diversity: DiversitySchema.default('provider'),
  complexity: ComplexitySettingsSchema.default(ComplexitySettingsSchema.parse({})),
  history: HistorySettingsSchema.default(HistorySettingsSchema.parse({})),
  breaker: BreakerSettingsSchema.default(BreakerSettingsSchema.parse({})),
  /** The model `tandem cost` compares spend with ("what if everything ran on it"). */
  strongest: ModelNameSchema.default('opus'),
});
export type Routing = z.infer<typeof RoutingSchema>;

export const BudgetsSchema = z.strictObject({
  /** Per task, unless the task sets `budget_usd`. */
  task_usd: z.number().min(0).optional(),
  /** Per calendar day (UTC), over every task. */
  day_usd: z.number().min(0).optional(),
  /** Per calendar month (UTC), over every task. */
  month_usd: z.number().min(0).optional(),
  /** A call that would exceed a budget: `downgrade` to a cheaper model of its fallback chain when one fits, else ask a person; `ask` always asks. */
  on_exceed: z.enum(['downgrade', 'ask']).default('downgrade'),
});
export type Budgets = z.infer<typeof BudgetsSchema>;

/**
 * `roles.<role>` pins a role to one model, bypassing the matrix and history: a registry name, or
 * a model outside the registry as `{provider, model, runner}` (priced by its runner, if at all).
 */
const RolePinSchema = z.union([ModelNameSchema, ModelRefSchema], { error: 'must be a model name from `models`, or `{provider, model, runner}`' });
export type RolePin = z.infer<typeof RolePinSchema>;
export const RolePinsSchema = z.strictObject({
  planner: RolePinSchema.optional(),
  'plan-reviewer': RolePinSchema.optional(),
  implementer: RolePinSchema.optional(),
  'code-reviewer': RolePinSchema.optional(),
  validator: RolePinSchema.optional(),
});
export type RolePins = z.infer<typeof RolePinsSchema>;
