import { z } from 'zod';

const PriceSchema = z.strictObject({
  input_per_mtok: z.number().nonnegative(),
  output_per_mtok: z.number().nonnegative(),
});

/** Settings every coding-CLI adapter understands (under `runners.<name>` in tandem.config.yaml). */
const cliSettings = {
  /** Executable to run; a bare name is looked up on PATH. */
  command: z.string().min(1).optional(),
  /** Extra arguments appended to every call. */
  args: z.array(z.string()).default([]),
  /** Extra environment for the CLI (API keys, proxies). */
  env: z.record(z.string(), z.string()).default({}),
  /**
   * `user`: the CLI uses the person's own login and config. `isolated`: every call gets a fresh temp
   * HOME / config dir, removed afterwards (API-key logins only; nothing leaks between calls).
   */
  config_home: z.enum(['user', 'isolated']).default('user'),
  /** Model API endpoint, e.g. a proxy or a local fake server. */
  base_url: z.url().optional(),
  /** Tool calls one call may make before it is stopped as no-progress. */
  max_turns: z.number().int().positive().default(40),
  /** The same tool call with the same result this many times stops the call as no-progress. */
  repeat_limit: z.number().int().min(2).default(3),
  /** The CLI's own retries of failed API requests; unset keeps the CLI's default. */
  max_retries: z.number().int().min(0).max(10).optional(),
  /** Bytes of stdout and of stderr kept per call (the tail). */
  max_output_bytes: z
    .number()
    .int()
    .positive()
    .default(8 * 1024 * 1024),
  /** Time between SIGTERM and SIGKILL when a call is stopped. */
  kill_grace_ms: z.number().int().nonnegative().default(2_000),
  /**
   * How long `<command> --version` may take before the probe is tried again (up to 3 tries). A CLI's
   * first start on a loaded machine can take many seconds; the version found is remembered per binary.
   */
  version_timeout_ms: z.number().int().positive().default(30_000),
  /** Run a CLI version the e2e suite has not passed against. */
  allow_untested_version: z.boolean().default(false),
  /** USD per million tokens, overriding the built-in table, keyed by model name prefix. */
  prices: z.record(z.string(), PriceSchema).default({}),
};

export const ClaudeCodeSettingsSchema = z.strictObject({
  ...cliSettings,
  /** How the implementer may edit. `bypassPermissions` only when you configure it (and not as root). */
  permission_mode: z.enum(['acceptEdits', 'bypassPermissions']).default('acceptEdits'),
  /** Tools offered to the read-only roles (planner, reviewers). */
  read_only_tools: z.array(z.string()).default(['Read', 'Grep', 'Glob']),
  /** Tools the implementer may use without asking, beyond edits, e.g. `Bash(npm test:*)`. */
  allowed_tools: z.array(z.string()).default([]),
  /** API_TIMEOUT_MS: how long one API request may take before Claude Code gives up on it. */
  request_timeout_ms: z.number().int().positive().optional(),
});
export type ClaudeCodeSettings = z.infer<typeof ClaudeCodeSettingsSchema>;
export type ClaudeCodeSettingsInput = z.input<typeof ClaudeCodeSettingsSchema>;

export const GeminiCliSettingsSchema = z.strictObject({
  ...cliSettings,
  /** Approval mode of the implementer; `yolo` also runs shell commands unasked. */
  approval_mode: z.enum(['auto_edit', 'yolo']).default('auto_edit'),
  /**
   * Auth type written into an isolated home's settings (Gemini CLI 0.61 rejects the implicit `gateway`
   * type a base URL selects). With `config_home: user` your own settings decide.
   */
  auth_type: z.string().min(1).default('gemini-api-key'),
});
export type GeminiCliSettings = z.infer<typeof GeminiCliSettingsSchema>;
export type GeminiCliSettingsInput = z.input<typeof GeminiCliSettingsSchema>;

export const CodexCliSettingsSchema = z.strictObject({
  ...cliSettings,
  /** Sandbox of the implementer. `danger-full-access` only when you configure it. */
  sandbox: z.enum(['workspace-write', 'danger-full-access']).default('workspace-write'),
  /**
   * `--output-schema`: OpenAI's strict mode accepts only schemas whose objects list every property as
   * required and forbid others; `auto` converts a schema to that form (optional properties become
   * nullable), `always` passes it as it is, `never` leaves it to the prompt (zod validates the answer anyway).
   */
  output_schema: z.enum(['auto', 'always', 'never']).default('auto'),
  /** Environment variable holding the API key sent to `base_url`. */
  env_key: z.string().min(1).default('OPENAI_API_KEY'),
  /** Codex's idle timeout of a model stream. */
  stream_idle_timeout_ms: z.number().int().positive().optional(),
});
export type CodexCliSettings = z.infer<typeof CodexCliSettingsSchema>;
export type CodexCliSettingsInput = z.input<typeof CodexCliSettingsSchema>;

export const OllamaSettingsSchema = z.strictObject({
  host: z.url().default('http://127.0.0.1:11434'),
  /** Ollama model options (temperature, num_ctx, …). */
  options: z.record(z.string(), z.unknown()).default({}),
  keep_alive: z.union([z.string(), z.number()]).optional(),
  prices: z.record(z.string(), PriceSchema).default({}),
});
export type OllamaSettingsInput = z.input<typeof OllamaSettingsSchema>;

/** The runner sections of the config, to be merged into `Config.runners`. */
export const CliRunnersConfigSchema = z.strictObject({
  'claude-code': ClaudeCodeSettingsSchema.default(ClaudeCodeSettingsSchema.parse({})),
  'gemini-cli': GeminiCliSettingsSchema.default(GeminiCliSettingsSchema.parse({})),
  'codex-cli': CodexCliSettingsSchema.default(CodexCliSettingsSchema.parse({})),
  ollama: OllamaSettingsSchema.default(OllamaSettingsSchema.parse({})),
});
export type CliRunnersConfig = z.infer<typeof CliRunnersConfigSchema>;

export type CliSettings = ClaudeCodeSettings | GeminiCliSettings | CodexCliSettings;

export function pricesOf(prices: Readonly<Record<string, z.infer<typeof PriceSchema>>>): Record<string, { inputPerMTok: number; outputPerMTok: number }> {
  return Object.fromEntries(Object.entries(prices).map(([model, p]) => [model, { inputPerMTok: p.input_per_mtok, outputPerMTok: p.output_per_mtok }]));
}
