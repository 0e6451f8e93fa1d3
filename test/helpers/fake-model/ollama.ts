import type { ServerResponse } from 'node:http';
import type { Decision } from './scenario.js';
import { isRecord, asString, sendJson, startEventStream, type FakeUsage } from './wire.js';

/** Ollama's HTTP API: `/api/chat`, `/api/generate` (JSON or NDJSON streams), `/api/tags`, `/api/version`. */

export const fakeOllamaVersion = '0.12.0';

function answerText(decision: Decision): string {
  if (decision.kind === 'text') return decision.text;
  if (decision.kind === 'tool') {
    // No tools are offered over /api/chat by tandem; a structured answer is the JSON content itself.
    return decision.intent.kind === 'structured' ? JSON.stringify(decision.intent.value) : `(tool call ${decision.intent.kind} not supported)`;
  }
  return '';
}

export function ollamaReply(res: ServerResponse, decision: Decision, endpoint: 'chat' | 'generate', body: unknown, usage: FakeUsage): void {
  if (decision.kind === 'error') {
    const headers: Record<string, string> = decision.retryAfterSeconds === undefined ? {} : { 'retry-after': String(decision.retryAfterSeconds) };
    sendJson(res, decision.status, { error: decision.message ?? `fake error ${decision.status}` }, headers);
    return;
  }
  if (decision.kind === 'hang') return;
  const model = (isRecord(body) ? asString(body.model) : undefined) ?? 'fake';
  // The server streams unless told otherwise; the JS client always says.
  const stream = !(isRecord(body) && body.stream === false);
  const stamp = { model, created_at: new Date().toISOString() };
  const piece = (text: string): Record<string, unknown> =>
    endpoint === 'chat' ? { ...stamp, message: { role: 'assistant', content: text }, done: false } : { ...stamp, response: text, done: false };
  if (decision.kind === 'stall') {
    startEventStream(res, 'application/x-ndjson');
    res.write(`${JSON.stringify(piece('Thinking'))}\n`);
    return;
  }
  const text = answerText(decision);
  const final = {
    ...piece(stream ? '' : text),
    done: true,
    done_reason: 'stop',
    total_duration: 1_000_000,
    load_duration: 1_000,
    prompt_eval_count: usage.input,
    prompt_eval_duration: 1_000,
    eval_count: usage.output,
    eval_duration: 1_000,
  };
  if (!stream) {
    sendJson(res, 200, final);
    return;
  }
  startEventStream(res, 'application/x-ndjson');
  res.write(`${JSON.stringify(piece(text))}\n`);
  res.write(`${JSON.stringify(final)}\n`);
  res.end();
}

export function ollamaTags(res: ServerResponse, models: readonly string[]): void {
  sendJson(res, 200, {
    models: models.map((name) => ({
      name,
      model: name,
      modified_at: new Date(0).toISOString(),
      size: 1,
      digest: 'fake',
      details: { format: 'gguf', family: 'fake' },
    })),
  });
}
