import type { ServerResponse } from 'node:http';

/** Token counts the fake reports for every model request, so tests can assert exact sums. */
export interface FakeUsage {
  readonly input: number;
  readonly output: number;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text).toString(), ...headers });
  res.end(text);
}

export function startEventStream(res: ServerResponse, contentType = 'text/event-stream'): void {
  res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-cache', connection: 'keep-alive' });
  // Send the headers now: a stalled stream must look like a live one to the client.
  res.flushHeaders();
}

/** One server-sent event; `event` is omitted for APIs (Gemini) that send bare `data:` lines. */
export function sendEvent(res: ServerResponse, data: unknown, event?: string): void {
  res.write(`${event === undefined ? '' : `event: ${event}\n`}data: ${JSON.stringify(data)}\n\n`);
}

/** Parses a request body; the CLIs only ever send JSON (or nothing, for GETs). */
export function parseBody(raw: string): unknown {
  if (raw.trim() === '') return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function asArray(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

export function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** A short pseudo-random id with a prefix, like the ids real APIs hand out. */
export function fakeId(prefix: string): string {
  return `${prefix}_${Math.random().toString(16).slice(2, 18).padEnd(16, '0')}`;
}
