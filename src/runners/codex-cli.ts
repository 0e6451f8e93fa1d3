import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RunRequest } from '../model/execution.js';
import { createCliRunner, type CliDialect, type CliRunner, type CliRunnerOptions } from './cli-runner.js';
import { createCodexStreamParser } from './codex-stream.js';
import { promptInput, withoutMetaSchema } from './prompt-input.js';
import { CodexCliSettingsSchema, type CodexCliSettings, type CodexCliSettingsInput } from './runner-settings.js';

const providerId = 'tandem';

/** A TOML string literal (JSON's escaping is a subset TOML basic strings accept). */
function toml(value: string): string {
  return JSON.stringify(value);
}

/**
 * Whether OpenAI's strict structured-output mode accepts the schema: every object forbids extra
 * properties and lists all of its properties as required.
 */
export function isStrictSchema(schema: unknown): boolean {
  if (Array.isArray(schema)) return schema.every(isStrictSchema);
  if (typeof schema !== 'object' || schema === null) return true;
  const node = schema as Record<string, unknown>;
  const properties = node.properties;
  if (node.type === 'object' || (typeof properties === 'object' && properties !== null)) {
    if (node.additionalProperties !== false) return false;
    const keys = typeof properties === 'object' && properties !== null ? Object.keys(properties) : [];
    const required = Array.isArray(node.required) ? node.required : [];
    if (!keys.every((k) => required.includes(k))) return false;
  }
  return Object.values(node).every(isStrictSchema);
}

/**
 * The same schema in the form OpenAI's strict mode accepts: every object lists all its properties
 * as required and forbids others, and a property that was optional may be null instead (the answer
 * parser drops those nulls before zod sees them). `default` is left out: strict mode rejects it, and
 * zod applies the defaults anyway.
 */
export function toStrictSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toStrictSchema);
  if (typeof schema !== 'object' || schema === null) return schema;
  const node: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema as Record<string, unknown>)) {
    if (key === 'default') continue;
    node[key] = key === 'properties' || key === '$defs' || key === 'definitions' ? mapValues(value, toStrictSchema) : toStrictSchema(value);
  }
  const properties = node['properties'];
  if (node['type'] === 'object' || (typeof properties === 'object' && properties !== null)) {
    const props = (typeof properties === 'object' && properties !== null ? properties : {}) as Record<string, unknown>;
    const required = new Set(Array.isArray(node['required']) ? (node['required'] as unknown[]) : []);
    node['properties'] = mapValues(props, (value, key) => (required.has(key) ? value : { anyOf: [value, { type: 'null' }] }));
    node['required'] = Object.keys(props);
    node['additionalProperties'] = false;
  }
  return node;
}

function mapValues(value: unknown, map: (value: unknown, key: string) => unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, map(v, key)]));
}

/** The schema to pass with `--output-schema`, if any: strict as given, made strict (`auto`), or as given (`always`). */
export function outputSchemaFor(request: RunRequest, settings: CodexCliSettings): unknown {
  if (request.outputSchema === undefined || settings.output_schema === 'never') return undefined;
  const schema = withoutMetaSchema(request.outputSchema);
  if (settings.output_schema === 'always' || isStrictSchema(schema)) return schema;
  return toStrictSchema(schema);
}

/** `-c` overrides: a custom provider for `base_url`, with the configured retries and idle timeout. */
function codexOverrides(settings: CodexCliSettings): string[] {
  if (settings.base_url === undefined) return [];
  const key = `model_providers.${providerId}`;
  const overrides = [
    `model_provider=${toml(providerId)}`,
    `${key}.name=${toml(providerId)}`,
    `${key}.base_url=${toml(settings.base_url)}`,
    `${key}.env_key=${toml(settings.env_key)}`,
    `${key}.wire_api="responses"`,
  ];
  if (settings.max_retries !== undefined)
    overrides.push(`${key}.request_max_retries=${settings.max_retries}`, `${key}.stream_max_retries=${settings.max_retries}`);
  if (settings.stream_idle_timeout_ms !== undefined) overrides.push(`${key}.stream_idle_timeout_ms=${settings.stream_idle_timeout_ms}`);
  return overrides.flatMap((o) => ['-c', o]);
}

/**
 * Codex's workspace-write sandbox also makes /tmp and $TMPDIR writable, so a shell command could write
 * beside the worktree. They are taken out; the call's own temp dir stands in for them.
 */
function sandboxOverrides(tmp: string): string[] {
  return [
    'sandbox_workspace_write.exclude_slash_tmp=true',
    'sandbox_workspace_write.exclude_tmpdir_env_var=true',
    `sandbox_workspace_write.writable_roots=[${toml(tmp)}]`,
  ].flatMap((o) => ['-c', o]);
}

/** argv of one call: `exec --json`, read-only sandbox except for the implementer, the prompt last. */
export function codexArgs(request: RunRequest, settings: CodexCliSettings, prompt: string | undefined, schemaFile: string | undefined, tmp: string): string[] {
  const args = ['exec', '--json', '--skip-git-repo-check', '--ephemeral', '--color', 'never'];
  const sandbox = request.allowEdits ? settings.sandbox : 'read-only';
  args.push('-s', sandbox, '-m', request.model.model);
  if (sandbox === 'workspace-write') args.push(...sandboxOverrides(tmp));
  if (schemaFile !== undefined) args.push('--output-schema', schemaFile);
  args.push(...codexOverrides(settings), ...settings.args);
  // `-` reads the prompt from stdin (a file here, never an open pipe: codex would wait for it forever);
  // after `--` a prompt that starts with a dash is still the prompt.
  args.push('--', prompt ?? '-');
  return args;
}

/** config.toml of an isolated CODEX_HOME: no analytics, no plugin marketplace sync. */
const isolatedCodexConfig = ['[analytics]', 'enabled = false', '', '[features]', 'plugins = false', ''].join('\n');

const codexCliDialect: CliDialect<CodexCliSettings> = {
  name: 'codex-cli',
  defaultCommand: 'codex',
  async prepare(request, settings, dirs) {
    const input = await promptInput(request.prompt, dirs.scratch);
    let schemaFile: string | undefined;
    const schema = outputSchemaFor(request, settings);
    if (schema !== undefined) {
      schemaFile = path.join(dirs.scratch, 'output-schema.json');
      await writeFile(schemaFile, JSON.stringify(schema), 'utf8');
    }
    const env: Record<string, string> = {};
    if (dirs.home !== undefined) {
      env.CODEX_HOME = path.join(dirs.home, '.codex');
      await mkdir(env.CODEX_HOME, { recursive: true });
      await writeFile(path.join(env.CODEX_HOME, 'config.toml'), isolatedCodexConfig, 'utf8');
    }
    return {
      args: codexArgs(request, settings, input.via === 'arg' ? input.prompt : undefined, schemaFile, dirs.tmp),
      env,
      stdinFile: input.via === 'stdin' ? input.file : undefined,
    };
  },
  parser: () => createCodexStreamParser(),
};

/** Codex CLI (`codex exec`) as an AgentRunner. */
export function createCodexCliRunner(settings: CodexCliSettingsInput = {}, options: CliRunnerOptions = {}): CliRunner {
  return createCliRunner(codexCliDialect, CodexCliSettingsSchema.parse(settings), options);
}
