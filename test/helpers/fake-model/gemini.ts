import type { ServerResponse } from 'node:http';
import type { Decision, ToolIntent, TurnState } from './scenario.js';
import { asArray, asString, fakeId, isRecord, sendEvent, sendJson, startEventStream, type FakeUsage } from './wire.js';

/** Gemini API (`POST /v1beta/models/<model>:generateContent` and `:streamGenerateContent?alt=sse`). */

export function geminiTurn(body: unknown): TurnState {
  const contents = isRecord(body) ? asArray(body.contents) : [];
  const tools = isRecord(body)
    ? asArray(body.tools).flatMap((tool) =>
        isRecord(tool) ? asArray(tool.functionDeclarations).flatMap((f) => (isRecord(f) && typeof f.name === 'string' ? [f.name] : [])) : [],
      )
    : [];
  let toolResults = 0;
  let lastToolOutput: string | undefined;
  let lastToolFailed = false;
  for (const content of contents) {
    if (!isRecord(content)) continue;
    for (const part of asArray(content.parts)) {
      if (!isRecord(part) || !isRecord(part.functionResponse)) continue;
      toolResults++;
      const response = isRecord(part.functionResponse.response) ? part.functionResponse.response : {};
      lastToolFailed = response.error !== undefined;
      lastToolOutput = JSON.stringify(response.error ?? response.output ?? response);
    }
  }
  return { toolResults, lastToolOutput, lastToolFailed, tools };
}

function functionCall(intent: ToolIntent): unknown {
  switch (intent.kind) {
    case 'write':
      return { name: 'write_file', args: { file_path: intent.path, content: intent.content } };
    case 'read':
      return { name: 'read_file', args: { file_path: intent.path } };
    case 'structured':
      // Gemini CLI has no schema tool: structured answers are plain JSON text.
      return undefined;
  }
}

const errorStatus: Readonly<Record<number, string>> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

const errorMessages: Readonly<Record<number, string>> = {
  400: 'Invalid request (fake)',
  401: 'API key not valid. Please pass a valid API key.',
  429: 'Resource has been exhausted (e.g. check quota).',
  500: 'Internal error encountered.',
  503: 'The model is overloaded. Please try again later.',
};

function geminiError(res: ServerResponse, decision: Extract<Decision, { kind: 'error' }>): void {
  const headers: Record<string, string> = decision.retryAfterSeconds === undefined ? {} : { 'retry-after': String(decision.retryAfterSeconds) };
  const details =
    decision.status === 429 && decision.retryAfterSeconds !== undefined
      ? [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${decision.retryAfterSeconds}s` }]
      : [];
  sendJson(
    res,
    decision.status,
    {
      error: {
        code: decision.status,
        message: decision.message ?? errorMessages[decision.status] ?? 'error (fake)',
        status: errorStatus[decision.status] ?? 'UNKNOWN',
        details,
      },
    },
    headers,
  );
}

export function geminiReply(res: ServerResponse, decision: Decision, model: string, stream: boolean, usage: FakeUsage): void {
  if (decision.kind === 'error') return geminiError(res, decision);
  if (decision.kind === 'hang') return;
  const responseId = fakeId('resp');
  if (decision.kind === 'stall') {
    startEventStream(res);
    sendEvent(res, { candidates: [{ content: { role: 'model', parts: [{ text: 'Thinking' }] }, index: 0 }], modelVersion: model, responseId });
    return;
  }
  const call = decision.kind === 'tool' ? functionCall(decision.intent) : undefined;
  const text = decision.kind === 'text' ? decision.text : decision.intent.kind === 'structured' ? JSON.stringify(decision.intent.value) : '';
  const parts = call === undefined ? [{ text }] : [{ functionCall: call }];
  const chunk = {
    candidates: [{ content: { role: 'model', parts }, finishReason: 'STOP', index: 0 }],
    usageMetadata: { promptTokenCount: usage.input, candidatesTokenCount: usage.output, totalTokenCount: usage.input + usage.output },
    modelVersion: model,
    responseId,
  };
  if (!stream) {
    sendJson(res, 200, chunk);
    return;
  }
  startEventStream(res);
  sendEvent(res, chunk);
  res.end();
}

/** The model name and method from `/v1beta/models/<model>:<method>`. */
export function geminiRoute(pathname: string): { model: string; method: string } | undefined {
  const match = /^\/v1(?:beta|alpha)?\/models\/([^:]+):(\w+)$/.exec(pathname);
  if (!match?.[1] || !match[2]) return undefined;
  return { model: decodeURIComponent(match[1]), method: match[2] };
}

export function geminiPromptText(body: unknown): string {
  const contents = isRecord(body) ? asArray(body.contents) : [];
  return contents
    .flatMap((c) => (isRecord(c) ? asArray(c.parts) : []))
    .map((p) => (isRecord(p) ? (asString(p.text) ?? '') : ''))
    .join('\n');
}
