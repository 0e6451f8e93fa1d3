import type { RunRequest } from '../model/execution.js';
import { createClaudeStreamParser } from './claude-stream.js';
import { createCliRunner, type CliDialect, type CliRunner, type CliRunnerOptions } from './cli-runner.js';
import { promptInput, withoutMetaSchema } from './prompt-input.js';
import { ClaudeCodeSettingsSchema, type ClaudeCodeSettings, type ClaudeCodeSettingsInput } from './runner-settings.js';

/** argv of one call: headless, streaming JSON, per-role permissions, the turn limit and the answer schema. */
export function claudeArgs(request: RunRequest, settings: ClaudeCodeSettings, prompt: string | undefined): string[] {
  const args = ['-p', '--output-format', 'stream-json', '--verbose', '--model', request.model.model];
  args.push('--no-session-persistence', '--max-turns', String(settings.max_turns));
  if (request.allowEdits) {
    // acceptEdits lets Claude Code edit inside its working directory only; it asks (and so, headless,
    // refuses) for anything else.
    args.push('--permission-mode', settings.permission_mode);
    if (settings.allowed_tools.length > 0) args.push('--allowedTools', settings.allowed_tools.join(','));
  } else {
    args.push('--permission-mode', 'default', '--tools', settings.read_only_tools.join(','));
  }
  if (request.outputSchema !== undefined) args.push('--json-schema', JSON.stringify(withoutMetaSchema(request.outputSchema)));
  args.push(...settings.args);
  // After `--` a prompt that starts with a dash is still the prompt.
  if (prompt !== undefined) args.push('--', prompt);
  return args;
}

function claudeEnv(settings: ClaudeCodeSettings, home: string | undefined): Record<string, string> {
  const env: Record<string, string> = {
    // No telemetry, auto-update or bootstrap calls from inside a task's run.
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
  };
  if (home !== undefined) env.CLAUDE_CONFIG_DIR = `${home}/.claude`;
  if (settings.base_url !== undefined) env.ANTHROPIC_BASE_URL = settings.base_url;
  if (settings.max_retries !== undefined) env.CLAUDE_CODE_MAX_RETRIES = String(settings.max_retries);
  if (settings.request_timeout_ms !== undefined) env.API_TIMEOUT_MS = String(settings.request_timeout_ms);
  return env;
}

const claudeCodeDialect: CliDialect<ClaudeCodeSettings> = {
  name: 'claude-code',
  defaultCommand: 'claude',
  async prepare(request, settings, dirs) {
    const input = await promptInput(request.prompt, dirs.scratch);
    return {
      args: claudeArgs(request, settings, input.via === 'arg' ? input.prompt : undefined),
      env: claudeEnv(settings, dirs.home),
      stdinFile: input.via === 'stdin' ? input.file : undefined,
    };
  },
  parser: () => createClaudeStreamParser(),
};

/** Claude Code (`claude -p`) as an AgentRunner. */
export function createClaudeCodeRunner(settings: ClaudeCodeSettingsInput = {}, options: CliRunnerOptions = {}): CliRunner {
  return createCliRunner(claudeCodeDialect, ClaudeCodeSettingsSchema.parse(settings), options);
}
