import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RunRequest } from '../model/execution.js';
import { createCliRunner, type CliDialect, type CliRunner, type CliRunnerOptions } from './cli-runner.js';
import { createGeminiStreamParser } from './gemini-stream.js';
import { promptInput } from './prompt-input.js';
import { GeminiCliSettingsSchema, type GeminiCliSettings, type GeminiCliSettingsInput } from './runner-settings.js';

/**
 * argv of one call. Read-only roles run in the `default` approval mode, where headless Gemini CLI
 * offers no write or shell tools at all; the implementer gets `auto_edit` (or the configured mode).
 * A prompt read from stdin needs an empty `--prompt=`: Gemini appends it to stdin.
 */
export function geminiArgs(request: RunRequest, settings: GeminiCliSettings, prompt: string | undefined): string[] {
  return [
    // `--prompt=` keeps a prompt that starts with a dash from being read as an option.
    `--prompt=${prompt ?? ''}`,
    '-m',
    request.model.model,
    '--output-format',
    'stream-json',
    '--skip-trust',
    '--approval-mode',
    request.allowEdits ? settings.approval_mode : 'default',
    ...settings.args,
  ];
}

/**
 * Settings of an isolated home. Only there can tandem set retries and the turn limit: Gemini CLI
 * ignores a system-defaults file below a world-writable directory such as /tmp, and a person's own
 * settings are theirs.
 */
export function geminiHomeSettings(settings: GeminiCliSettings): Record<string, unknown> {
  return {
    // 0.61.0 turns a base URL into the `gateway` auth type, which it then rejects (exit 41).
    security: { auth: { selectedType: settings.auth_type } },
    general: {
      ...(settings.max_retries === undefined ? {} : { maxAttempts: Math.max(1, settings.max_retries + 1) }),
      enableAutoUpdate: false,
      enableAutoUpdateNotification: false,
    },
    // Gemini counts model requests; one more than the tool calls allowed lets the model answer.
    model: { maxSessionTurns: settings.max_turns + 1 },
    privacy: { usageStatisticsEnabled: false },
    telemetry: { enabled: false },
  };
}

const geminiCliDialect: CliDialect<GeminiCliSettings> = {
  name: 'gemini-cli',
  defaultCommand: 'gemini',
  async prepare(request, settings, dirs) {
    const input = await promptInput(request.prompt, dirs.scratch);
    const env: Record<string, string> = {
      // Otherwise it re-spawns itself with a bigger heap: 0.4 s per call.
      GEMINI_CLI_NO_RELAUNCH: 'true',
    };
    if (settings.base_url !== undefined) env.GOOGLE_GEMINI_BASE_URL = settings.base_url;
    if (dirs.home !== undefined) {
      env.GEMINI_CLI_HOME = dirs.home;
      await mkdir(path.join(dirs.home, '.gemini'), { recursive: true });
      await writeFile(path.join(dirs.home, '.gemini', 'settings.json'), JSON.stringify(geminiHomeSettings(settings), null, 2), 'utf8');
    }
    return {
      args: geminiArgs(request, settings, input.via === 'arg' ? input.prompt : undefined),
      env,
      stdinFile: input.via === 'stdin' ? input.file : undefined,
    };
  },
  parser: () => createGeminiStreamParser(),
};

/** Gemini CLI (`gemini -p`) as an AgentRunner. */
export function createGeminiCliRunner(settings: GeminiCliSettingsInput = {}, options: CliRunnerOptions = {}): CliRunner {
  return createCliRunner(geminiCliDialect, GeminiCliSettingsSchema.parse(settings), options);
}
