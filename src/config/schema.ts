import { z } from 'zod';
import { NatsSettingsSchema } from '../bus/nats-settings.js';
import { GateConfigSchema } from '../gate/gate-options.js';
import { LimitsSchema } from '../model/limits.js';
import { resolveRouting, routingIssues, routingOptionsShape } from '../routing/routing-options.js';
import { CliRunnersConfigSchema } from '../runners/runner-settings.js';
import { StandardsSchema } from '../roles/standards.js';

/*
 * The whole config, composed once from each module's own options (routing, gate, limits, runners,
 * nats): the compiled-options pattern. Modules below this floor read only their own part.
 */

const LogLevelSchema = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** The config as written; `ConfigSchema` validates it as a whole and resolves the routing. */
export const ConfigObjectSchema = z.strictObject({
  /** Where task records, snapshots, logs and worktrees live. Relative to the cwd. */
  state_dir: z.string().min(1).default('.tandem'),
  concurrency: z.number().int().min(1).max(256).default(2),
  /** Base branch; defaults to the repository's current branch. */
  base: z.string().min(1).optional(),
  ...routingOptionsShape,
  /** Settings per runner: the scripted runner's script, and each coding CLI's and Ollama's own. */
  runners: z
    .strictObject({
      scripted: z.strictObject({ script: z.string().min(1).optional() }).default({}),
      ...CliRunnersConfigSchema.shape,
    })
    .default(() => ({ scripted: {}, ...CliRunnersConfigSchema.parse({}) })),
  gate: GateConfigSchema.default(GateConfigSchema.parse({})),
  /** The repository's coding standards (text and/or files), given to the implementer, the code reviewer and the validator. */
  standards: StandardsSchema.optional(),
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
export const ConfigSchema = ConfigObjectSchema.superRefine(routingIssues).transform(resolveRouting);
export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
