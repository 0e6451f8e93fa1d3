import { InputError } from '../platform/errors.js';

/** Where and how spans (or metrics) are exported, read from the standard `OTEL_*` variables. */
export interface OtlpTraceSettings {
  readonly url: string;
  readonly protocol: 'http/protobuf' | 'http/json';
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMillis: number;
}

type Env = Readonly<Record<string, string | undefined>>;

const issue = (field: string, message: string): InputError => new InputError([{ file: 'environment', field, message }]);

function pick(env: Env, signal: string, general: string): { name: string; value: string } | undefined {
  for (const name of [signal, general]) {
    const value = env[name]?.trim();
    if (value) return { name, value };
  }
  return undefined;
}

/** `key1=value1,key2=value2` with URL-encoded values, as the OTLP exporter spec defines it. */
export function parseKeyValueList(text: string, field: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw issue(field, `expected key=value pairs separated by commas, got "${part.trim()}"`);
    try {
      out[decodeURIComponent(part.slice(0, eq).trim())] = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      throw issue(field, `"${part.trim()}" is not validly URL-encoded`);
    }
  }
  return out;
}

/**
 * Export happens only when a collector endpoint is configured: a CLI run on a laptop must not
 * retry against localhost:4318 and hold shutdown for seconds (the SDK's default behaviour).
 * Returns undefined when nothing is to be exported.
 */
export function otlpTraceSettings(env: Env): OtlpTraceSettings | undefined {
  return otlpSignalSettings(env, 'traces');
}

/**
 * The same for metrics (OTEL_METRICS_EXPORTER, OTEL_EXPORTER_OTLP_METRICS_*). `prometheus` in
 * OTEL_METRICS_EXPORTER is the scrape endpoint (`--metrics-port`), which is there either way.
 */
export function otlpMetricSettings(env: Env): OtlpTraceSettings | undefined {
  return otlpSignalSettings(env, 'metrics');
}

function otlpSignalSettings(env: Env, signal: 'traces' | 'metrics'): OtlpTraceSettings | undefined {
  if (env['OTEL_SDK_DISABLED']?.trim().toLowerCase() === 'true') return undefined;
  const SIGNAL = signal.toUpperCase();
  const exporterField = `OTEL_${SIGNAL}_EXPORTER`;
  const exporters = (env[exporterField] ?? 'otlp')
    .split(',')
    .map((e) => e.trim().toLowerCase())
    .filter((e) => e !== '' && !(signal === 'metrics' && e === 'prometheus'));
  if (exporters.includes('none') || exporters.length === 0) return undefined;
  const unsupported = exporters.filter((e) => e !== 'otlp');
  if (unsupported.length > 0)
    throw issue(
      exporterField,
      `tandem exports ${signal} over OTLP only; "${unsupported.join(', ')}" is not supported (use otlp${signal === 'metrics' ? ', prometheus' : ''} or none)`,
    );

  const signalField = `OTEL_EXPORTER_OTLP_${SIGNAL}_ENDPOINT`;
  const signalEndpoint = env[signalField]?.trim();
  const baseEndpoint = env['OTEL_EXPORTER_OTLP_ENDPOINT']?.trim();
  if (!signalEndpoint && !baseEndpoint) return undefined;
  // The signal-specific endpoint is used as given; the base one gets the signal's path appended.
  const field = signalEndpoint ? signalField : 'OTEL_EXPORTER_OTLP_ENDPOINT';
  const url = signalEndpoint || `${(baseEndpoint ?? '').replace(/\/+$/, '')}/v1/${signal}`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw issue(field, `"${signalEndpoint || baseEndpoint}" is not a URL (expected e.g. http://otel-collector:4318)`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw issue(field, `"${url}" must be an http:// or https:// URL`);

  const protocolSetting = pick(env, `OTEL_EXPORTER_OTLP_${SIGNAL}_PROTOCOL`, 'OTEL_EXPORTER_OTLP_PROTOCOL');
  const protocol = protocolSetting?.value ?? 'http/protobuf';
  if (protocol !== 'http/protobuf' && protocol !== 'http/json') {
    throw issue(
      protocolSetting?.name ?? 'OTEL_EXPORTER_OTLP_PROTOCOL',
      `"${protocol}" is not supported: use http/protobuf (the default) or http/json, on the collector's HTTP port (4318)`,
    );
  }

  const headers = {
    ...parseKeyValueList(env['OTEL_EXPORTER_OTLP_HEADERS'] ?? '', 'OTEL_EXPORTER_OTLP_HEADERS'),
    ...parseKeyValueList(env[`OTEL_EXPORTER_OTLP_${SIGNAL}_HEADERS`] ?? '', `OTEL_EXPORTER_OTLP_${SIGNAL}_HEADERS`),
  };

  const timeoutSetting = pick(env, `OTEL_EXPORTER_OTLP_${SIGNAL}_TIMEOUT`, 'OTEL_EXPORTER_OTLP_TIMEOUT');
  const timeoutMillis = timeoutSetting ? Number(timeoutSetting.value) : 10_000;
  if (!Number.isInteger(timeoutMillis) || timeoutMillis <= 0)
    throw issue(timeoutSetting?.name ?? 'OTEL_EXPORTER_OTLP_TIMEOUT', `"${timeoutSetting?.value ?? ''}" must be a positive number of milliseconds`);

  return { url, protocol, headers, timeoutMillis };
}
