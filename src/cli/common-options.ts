import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig, type ConfigFlags, type LoadedConfig } from '../config/load-config.js';
import type { CliIO } from './io.js';

export interface CommonFlags {
  readonly config?: string;
  readonly stateDir?: string;
  readonly logLevel?: string;
  readonly concurrency?: number;
  readonly runner?: string;
  readonly script?: string;
  readonly base?: string;
  /** A URL, or true: distributed mode with the config's / environment's NATS settings. */
  readonly nats?: string | true;
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of at least 1');
  return n;
}

/** Options every command that reads the state dir understands. */
export function withStateOptions(command: Command): Command {
  return command
    .option('--config <file>', 'config file (default: ./tandem.config.yaml when present)')
    .option('--state-dir <dir>', 'where task records, logs and worktrees live (default: ./.tandem)')
    .option('--log-level <level>', 'log level on stderr: fatal, error, warn, info, debug, trace or silent');
}

/** `--nats`: distributed mode, against the NATS server(s) the services share. */
export function withNatsOption(command: Command): Command {
  return command.option(
    '--nats [url]',
    'distributed mode: NATS server(s), comma-separated (default: `nats:` of the config, NATS_URL, else nats://127.0.0.1:4222)',
  );
}

/** Options of the commands that run tasks. */
export function withRunOptions(command: Command): Command {
  return withObserveOptions(
    withStateOptions(command)
      .option('--runner <name>', 'use this runner for every role, e.g. "scripted"')
      .option('--script <file>', 'answers for the scripted runner (YAML)')
      .option('--concurrency <n>', 'tasks run in parallel (default 2)', positiveInt),
  );
}

/** `--metrics-port` and `--inspect`, for every command that drives tasks (the demo too). */
export function withObserveOptions(command: Command): Command {
  return command
    .option('--metrics-port <[host:]port>', 'serve Prometheus /metrics (and /healthz, /readyz) here; 127.0.0.1 unless a host is given')
    .option('--inspect [port]', 'stream the state machines to the Stately inspector (prints the URL to open)', (value: string) => positiveInt(value))
    .option('--no-color', 'no colors (also when NO_COLOR is set, or the output is not a terminal)')
    .option('-q, --quiet', 'no banner and no progress lines: only the summary, what needs a person, and problems');
}

export interface ObserveFlags {
  readonly metricsPort?: string;
  readonly inspect?: true | number;
  /** false with --no-color. */
  readonly color?: boolean;
  readonly quiet?: boolean;
}

export function observeOptions(flags: ObserveFlags): { metricsPort?: string; inspect?: true | number; color?: boolean; quiet?: boolean } {
  return {
    ...(flags.metricsPort === undefined ? {} : { metricsPort: flags.metricsPort }),
    ...(flags.inspect === undefined ? {} : { inspect: flags.inspect }),
    ...(flags.color === false ? { color: false } : {}),
    ...(flags.quiet === true ? { quiet: true } : {}),
  };
}

export function configFrom(io: CliIO, flags: CommonFlags): LoadedConfig {
  const argv: ConfigFlags = {
    config: flags.config,
    stateDir: flags.stateDir,
    logLevel: flags.logLevel,
    concurrency: flags.concurrency,
    runner: flags.runner,
    script: flags.script,
    base: flags.base,
    nats: typeof flags.nats === 'string' ? flags.nats : undefined,
  };
  return loadConfig({ env: io.env, argv, cwd: io.cwd });
}
