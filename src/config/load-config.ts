import { readFileSync, existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { InputError, type InputIssue } from '../platform/errors.js';
import { nodePosition, yamlErrorIssues, zodInputIssues } from '../tasks/yaml-issues.js';
import { natsSettingsFromEnv } from '../bus/nats-settings.js';
import { ConfigObjectSchema, ConfigSchema, type Config } from './schema.js';

/** Flags from the command line that override the config file. */
export interface ConfigFlags {
  readonly config?: string | undefined;
  readonly stateDir?: string | undefined;
  readonly concurrency?: number | undefined;
  readonly runner?: string | undefined;
  readonly script?: string | undefined;
  readonly base?: string | undefined;
  readonly logLevel?: string | undefined;
  /** `--nats <url>`: the NATS server(s) of distributed mode, comma-separated. */
  readonly nats?: string | undefined;
}

export interface LoadedConfig {
  readonly config: Config;
  /** The file the config came from, if any. */
  readonly file: string | undefined;
  /** Absolute state dir. */
  readonly stateDir: string;
}

const CONFIG_FILE_NAME = 'tandem.config.yaml';

/**
 * Where `tandem.config.yaml` is looked for when none is named: the current folder, then each folder
 * above it up to the root of the git repository it is in (none above the current one outside a
 * repository), then the user's config folder: $XDG_CONFIG_HOME/tandem, else ~/.config/tandem.
 */
export function configSearchPath(cwd: string, env: Readonly<Record<string, string | undefined>>): string[] {
  const dirs: string[] = [];
  let dir = resolve(cwd);
  for (;;) {
    dirs.push(dir);
    if (existsSync(join(dir, '.git'))) break;
    const parent = dirname(dir);
    if (parent === dir) {
      // Not in a repository: only the current folder.
      dirs.splice(1);
      break;
    }
    dir = parent;
  }
  const xdg = env['XDG_CONFIG_HOME'];
  const home = env['HOME'];
  const user = xdg && isAbsolute(xdg) ? join(xdg, 'tandem') : home ? join(home, '.config', 'tandem') : undefined;
  if (user !== undefined && !dirs.includes(user)) dirs.push(user);
  return dirs.map((d) => join(d, CONFIG_FILE_NAME));
}

function findConfigFile(cwd: string, env: Readonly<Record<string, string | undefined>>): string | undefined {
  return configSearchPath(cwd, env).find((file) => existsSync(file));
}

/**
 * Loads the config once, from (in rising precedence) the shipped defaults, `tandem.config.yaml`
 * (or `--config` / TANDEM_CONFIG; found as `configSearchPath` says), TANDEM_* environment variables and flags. It reads only the
 * config file and touches no globals, so tests pass their own env, argv and cwd.
 */
export function loadConfig(input: { env: Readonly<Record<string, string | undefined>>; argv: ConfigFlags; cwd: string }): LoadedConfig {
  const { env, argv, cwd } = input;
  const explicit = argv.config ?? env['TANDEM_CONFIG'];
  const file = explicit ? resolve(cwd, explicit) : findConfigFile(cwd, env);
  const issues: InputIssue[] = [];
  let raw: Record<string, unknown> = {};
  let doc: ReturnType<typeof parseDocument> | undefined;
  const lines = new LineCounter();
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new InputError([{ file, message: `cannot read config file: ${(error as NodeJS.ErrnoException).code ?? String(error)}` }], { cause: error });
    }
    doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    if (doc.errors.length > 0) throw new InputError(yamlErrorIssues(doc.errors, file, { doc, lineCounter: lines, lineOffset: 0 }));
    const value: unknown = doc.toJS();
    if (value !== null && value !== undefined) {
      if (typeof value !== 'object' || Array.isArray(value)) throw new InputError([{ file, line: 1, message: 'the config must be a mapping of settings' }]);
      raw = value as Record<string, unknown>;
    }
  }

  const envSource = 'environment';
  const merged: Record<string, unknown> = { ...raw };
  const setNumber = (key: string, value: string | number | undefined, source: string, field: string): void => {
    if (value === undefined) return;
    const n = typeof value === 'number' ? value : Number(value);
    if (!Number.isFinite(n)) issues.push({ file: source, field, message: `must be a number, got ${JSON.stringify(value)}` });
    else merged[key] = n;
  };
  if (env['TANDEM_STATE_DIR']) merged['state_dir'] = env['TANDEM_STATE_DIR'];
  setNumber('concurrency', env['TANDEM_CONCURRENCY'], envSource, 'TANDEM_CONCURRENCY');
  if (env['TANDEM_LOG_LEVEL']) merged['log_level'] = env['TANDEM_LOG_LEVEL'];
  if (argv.stateDir) merged['state_dir'] = argv.stateDir;
  setNumber('concurrency', argv.concurrency, 'command line', '--concurrency');
  if (argv.logLevel) merged['log_level'] = argv.logLevel;
  if (argv.base) merged['base'] = argv.base;
  if (argv.runner) merged['runner_override'] = argv.runner;
  // NATS settings: the file's, then NATS_* variables (secrets usually come this way), then --nats.
  const natsEnv = natsSettingsFromEnv(env);
  const natsFile = typeof merged['nats'] === 'object' && merged['nats'] !== null ? (merged['nats'] as Record<string, unknown>) : undefined;
  if (natsFile !== undefined || Object.keys(natsEnv).length > 0 || argv.nats) {
    merged['nats'] = {
      ...natsFile,
      ...natsEnv,
      ...(argv.nats
        ? {
            servers: argv.nats
              .split(',')
              .map((server) => server.trim())
              .filter((server) => server !== ''),
          }
        : {}),
    };
  }
  if (argv.script) {
    const runners = (typeof merged['runners'] === 'object' && merged['runners'] !== null ? merged['runners'] : {}) as Record<string, unknown>;
    merged['runners'] = { ...runners, scripted: { script: resolve(cwd, argv.script) } };
  }

  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const source = doc ? { doc, lineCounter: lines, lineOffset: 0 } : undefined;
    issues.push(
      ...zodInputIssues(parsed.error, {
        file: file ?? 'config',
        fieldPrefix: [],
        input: merged,
        locate: (path, at) => (source ? nodePosition(source, path, at) : undefined),
        knownFields: knownConfigFields,
      }),
    );
  }
  if (issues.length > 0 || !parsed.success) throw new InputError(issues);
  const config = parsed.data;
  const stateDir = isAbsolute(config.state_dir) ? config.state_dir : resolve(cwd, config.state_dir);
  return { config, file, stateDir };
}

/** Every field name anywhere in the config, offered as "did you mean" for a misspelled one. */
const knownConfigFields: readonly string[] = [...new Set(fieldNames(ConfigObjectSchema))].sort();

function fieldNames(schema: z.ZodType): string[] {
  if (schema instanceof z.ZodObject) {
    return Object.entries(schema.shape as Record<string, z.ZodType>).flatMap(([key, value]) => [key, ...fieldNames(value)]);
  }
  if (schema instanceof z.ZodDefault || schema instanceof z.ZodOptional) return fieldNames(schema.unwrap() as z.ZodType);
  if (schema instanceof z.ZodArray) return fieldNames(schema.element as z.ZodType);
  if (schema instanceof z.ZodRecord) return fieldNames(schema.valueType as z.ZodType);
  if (schema instanceof z.ZodUnion) return (schema.options as z.ZodType[]).flatMap(fieldNames);
  return [];
}
