import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/platform/errors.js';
import { otlpTraceSettings, parseKeyValueList } from '../../src/telemetry/otlp-settings.js';

function issueOf(fn: () => unknown): { field: string; message: string } {
  try {
    fn();
  } catch (error) {
    if (error instanceof InputError) return { field: error.issues[0]?.field ?? '', message: error.issues[0]?.message ?? '' };
    throw error;
  }
  throw new Error('expected an InputError');
}

describe('otlpTraceSettings', () => {
  it('exports nothing without a collector endpoint, or when disabled', () => {
    expect(otlpTraceSettings({})).toBeUndefined();
    expect(otlpTraceSettings({ OTEL_SERVICE_NAME: 'x', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' })).toBeUndefined();
    expect(otlpTraceSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' })).toBeUndefined();
    expect(otlpTraceSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' })).toBeUndefined();
  });

  it('appends /v1/traces to the base endpoint and uses the traces endpoint as given, http/protobuf by default', () => {
    expect(otlpTraceSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toEqual({
      url: 'http://collector:4318/v1/traces',
      protocol: 'http/protobuf',
      headers: {},
      timeoutMillis: 10_000,
    });
    expect(
      otlpTraceSettings({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://ignored:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example/otlp',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
        OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20abc,x-team=a',
        OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-team=b',
        OTEL_EXPORTER_OTLP_TIMEOUT: '2500',
      }),
    ).toEqual({ url: 'https://traces.example/otlp', protocol: 'http/json', headers: { authorization: 'Bearer abc', 'x-team': 'b' }, timeoutMillis: 2500 });
  });

  it('names the variable when a setting is unusable', () => {
    expect(issueOf(() => otlpTraceSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }))).toEqual({
      field: 'OTEL_EXPORTER_OTLP_ENDPOINT',
      message: '"collector:4318/v1/traces" must be an http:// or https:// URL',
    });
    expect(issueOf(() => otlpTraceSettings({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'not a url' }))).toEqual({
      field: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
      message: '"not a url" is not a URL (expected e.g. http://otel-collector:4318)',
    });
    expect(issueOf(() => otlpTraceSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }))).toEqual({
      field: 'OTEL_EXPORTER_OTLP_PROTOCOL',
      message: '"grpc" is not supported: use http/protobuf (the default) or http/json, on the collector\'s HTTP port (4318)',
    });
    expect(issueOf(() => otlpTraceSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'zipkin' })).field).toBe(
      'OTEL_TRACES_EXPORTER',
    );
    expect(issueOf(() => otlpTraceSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: 'soon' }))).toEqual({
      field: 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT',
      message: '"soon" must be a positive number of milliseconds',
    });
    expect(issueOf(() => parseKeyValueList('a=1,broken', 'OTEL_RESOURCE_ATTRIBUTES'))).toEqual({
      field: 'OTEL_RESOURCE_ATTRIBUTES',
      message: 'expected key=value pairs separated by commas, got "broken"',
    });
  });
});
