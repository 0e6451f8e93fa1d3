import type { AgentRunner } from './agent-runner.js';
import { createClaudeCodeRunner } from './claude-code.js';
import type { CliRunner, CliRunnerOptions } from './cli-runner.js';
import { createCodexCliRunner } from './codex-cli.js';
import { createGeminiCliRunner } from './gemini-cli.js';
import { createOllamaRunner, type OllamaRunner } from './ollama.js';
import { CliRunnersConfigSchema, type CliRunnersConfig } from './runner-settings.js';
import type { CliRunnerName } from './versions.js';

/** The runners that talk to real models (the scripted one lives beside them, built by the runtime). */
export const modelRunnerNames = ['claude-code', 'gemini-cli', 'codex-cli', 'ollama'] as const;
export type ModelRunnerName = (typeof modelRunnerNames)[number];

export function isModelRunnerName(name: string): name is ModelRunnerName {
  return (modelRunnerNames as readonly string[]).includes(name);
}

export type ModelRunner = CliRunner | OllamaRunner;

/**
 * Reads the sections of the model runners from a config's `runners` object (which also holds the
 * scripted runner's section); a missing section means the defaults.
 */
export function runnerSettingsFrom(runners: unknown): CliRunnersConfig {
  const source = typeof runners === 'object' && runners !== null ? (runners as Record<string, unknown>) : {};
  const picked: Record<string, unknown> = {};
  for (const name of modelRunnerNames) if (source[name] !== undefined) picked[name] = source[name];
  return CliRunnersConfigSchema.parse(picked);
}

/**
 * One runner per model backend, keyed by the names `RoleModels` use in `runner`. Building them starts
 * nothing: a CLI is looked for (and its version checked) on its first call.
 */
export function createRunners(settings: CliRunnersConfig, options: CliRunnerOptions = {}): Map<ModelRunnerName, ModelRunner> {
  return new Map<ModelRunnerName, ModelRunner>([
    ['claude-code', createCodingCliRunner('claude-code', settings, options)],
    ['gemini-cli', createCodingCliRunner('gemini-cli', settings, options)],
    ['codex-cli', createCodingCliRunner('codex-cli', settings, options)],
    ['ollama', createOllamaRunner(settings.ollama, { onEvent: options.onEvent })],
  ]);
}

/** The adapter of one coding CLI, by name. */
export function createCodingCliRunner(name: CliRunnerName, settings: CliRunnersConfig, options: CliRunnerOptions = {}): CliRunner {
  switch (name) {
    case 'claude-code':
      return createClaudeCodeRunner(settings['claude-code'], options);
    case 'gemini-cli':
      return createGeminiCliRunner(settings['gemini-cli'], options);
    case 'codex-cli':
      return createCodexCliRunner(settings['codex-cli'], options);
  }
}

/** Narrows a runner map entry for callers that only need the port. */
export function asAgentRunners(runners: ReadonlyMap<string, ModelRunner>): Map<string, AgentRunner> {
  return new Map(runners);
}
