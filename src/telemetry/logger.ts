import { pino, type Logger, type DestinationStream, type LevelWithSilent } from 'pino';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type { Logger } from 'pino';

/**
 * Paths redacted from every log line. Secrets reach the logger through config objects, runner
 * environments and bus credentials; listing the keys here keeps them out whatever the caller logs.
 */
const secretKeys = ['apiKey', 'token', 'password', 'authorization', 'bot_token', 'botToken', 'nkey', 'creds'];

const redactPaths = [
  // At the top of a log line's object and up to two levels down (e.g. config.nats.password).
  ...secretKeys.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]),
  'env.ANTHROPIC_API_KEY',
  'env.OPENAI_API_KEY',
  'env.GEMINI_API_KEY',
  'env.GOOGLE_API_KEY',
  'env.TELEGRAM_BOT_TOKEN',
  'env.NATS_PASSWORD',
  'env.NATS_TOKEN',
  'env.NATS_NKEY',
  'env.NATS_CREDS',
  'env.OTEL_EXPORTER_OTLP_HEADERS',
  'env.OTEL_EXPORTER_OTLP_TRACES_HEADERS',
];

export interface LoggerOptions {
  readonly level: LevelWithSilent;
  /** Human-readable output (pino-pretty) instead of JSON lines; the CLI sets it when stderr is a TTY. */
  readonly pretty?: boolean;
  /** Also append JSON lines to this file (the run log under the state dir). */
  readonly file?: string;
  readonly destination?: DestinationStream;
  /** Fields merged into every line, e.g. `traceLogMixin(tracing)` for trace_id and span_id. */
  readonly mixin?: pino.LoggerOptions['mixin'];
}

export function createLogger(options: LoggerOptions): Logger {
  const streams: pino.StreamEntry[] = [];
  if (options.destination) {
    streams.push({ level: options.level === 'silent' ? 'fatal' : options.level, stream: options.destination });
  } else if (options.level !== 'silent') {
    const stream = options.pretty
      ? pino.transport({ target: 'pino-pretty', options: { destination: 2, colorize: true, ignore: 'pid,hostname', translateTime: 'HH:MM:ss' } })
      : pino.destination({ dest: 2, sync: false });
    streams.push({ level: options.level, stream: stream });
  }
  if (options.file) {
    mkdirSync(dirname(options.file), { recursive: true });
    streams.push({ level: 'info', stream: pino.destination({ dest: options.file, sync: false, mkdir: true }) });
  }
  const given = options.mixin;
  const mixin: NonNullable<pino.LoggerOptions['mixin']> = (mergeObject, level, logger) => ({
    ...contextDefaults(mergeObject, logger),
    ...(given ? given(mergeObject, level, logger) : {}),
  });
  const lowest = options.file && (options.level === 'silent' || levelValue(options.level) > levelValue('info')) ? 'info' : options.level;
  return pino(
    { level: lowest, redact: { paths: redactPaths, censor: '[redacted]' }, base: undefined, mixin, mixinMergeStrategy: keepDefinedFields },
    pino.multistream(streams),
  );
}

/** The fields a person filters a run's log by; every line has them, null where they do not apply. */
const contextKeys = ['task', 'step', 'role', 'model'] as const;

function contextDefaults(mergeObject: object, logger: Logger): Record<string, null> {
  const bound = logger.bindings();
  const line = mergeObject as Record<string, unknown>;
  const defaults: Record<string, null> = {};
  // A key the line or a child logger's bindings set must not appear twice in the JSON line.
  for (const key of contextKeys) if (line[key] === undefined && bound[key] === undefined) defaults[key] = null;
  return defaults;
}

/** pino's default merge, except that a field the line leaves undefined keeps the mixin's value. */
function keepDefinedFields(mergeObject: object, mixinObject: object): object {
  const merged = mixinObject as Record<string, unknown>;
  for (const [key, value] of Object.entries(mergeObject)) if (value !== undefined || !(key in merged)) merged[key] = value;
  return merged;
}

function levelValue(level: LevelWithSilent): number {
  return level === 'silent' ? Infinity : (pino.levels.values[level] ?? 30);
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
