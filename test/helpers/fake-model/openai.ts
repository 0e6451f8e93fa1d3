import type { ServerResponse } from 'node:http';
import type { Decision, ToolIntent, TurnState } from './scenario.js';
import { asArray, asString, fakeId, isRecord, sendEvent, sendJson, startEventStream, type FakeUsage } from './wire.js';

/** OpenAI Responses API (`POST /v1/responses`, streaming), as Codex CLI uses it. */

const toolOutputTypes = new Set(['function_call_output', 'custom_tool_call_output']);

export function openaiTurn(body: unknown): TurnState {
  const input = isRecord(body) ? asArray(body.input) : [];
  const tools = isRecord(body) ? asArray(body.tools).flatMap((t) => (isRecord(t) && typeof t.name === 'string' ? [t.name] : [])) : [];
  let toolResults = 0;
  let lastToolOutput: string | undefined;
  for (const item of input) {
    if (!isRecord(item) || typeof item.type !== 'string' || !toolOutputTypes.has(item.type)) continue;
    toolResults++;
    lastToolOutput = typeof item.output === 'string' ? item.output : JSON.stringify(item.output);
  }
  // Codex reports a tool's outcome only inside its output text.
  const exit = lastToolOutput === undefined ? undefined : /(?:Process exited with code|Exit code:) (\d+)/.exec(lastToolOutput)?.[1];
  const lastToolFailed = lastToolOutput !== undefined && (exit === undefined ? /error|denied|rejected/i.test(lastToolOutput) : exit !== '0');
  return { toolResults, lastToolOutput, lastToolFailed, tools };
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

type OutputItem = Record<string, unknown>;

function toolItem(intent: ToolIntent, turn: TurnState): OutputItem {
  const callId = fakeId('call');
  switch (intent.kind) {
    case 'write':
      if (turn.tools.includes('apply_patch')) {
        const lines = intent.content
          .replace(/\n$/, '')
          .split('\n')
          .map((line) => `+${line}`);
        const patch = ['*** Begin Patch', `*** Add File: ${intent.path}`, ...lines, '*** End Patch', ''].join('\n');
        return { type: 'custom_tool_call', id: fakeId('ctc'), status: 'completed', call_id: callId, name: 'apply_patch', input: patch };
      }
      return execCommand(callId, `printf '%s' ${shellQuote(intent.content)} > ${shellQuote(intent.path)}`);
    case 'read':
      return execCommand(callId, `cat ${shellQuote(intent.path)}`);
    case 'structured':
      return message(JSON.stringify(intent.value));
  }
}

function execCommand(callId: string, cmd: string): OutputItem {
  return { type: 'function_call', id: fakeId('fc'), status: 'completed', call_id: callId, name: 'exec_command', arguments: JSON.stringify({ cmd }) };
}

function message(text: string): OutputItem {
  return { type: 'message', id: fakeId('msg'), status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] };
}

const errorMessages: Readonly<Record<number, string>> = {
  400: 'Invalid request (fake)',
  401: 'Incorrect API key provided',
  429: 'Rate limit reached (fake)',
  500: 'The server had an error while processing your request (fake)',
  503: 'The engine is currently overloaded (fake)',
};

function openaiError(res: ServerResponse, decision: Extract<Decision, { kind: 'error' }>): void {
  const headers: Record<string, string> = decision.retryAfterSeconds === undefined ? {} : { 'retry-after': String(decision.retryAfterSeconds) };
  const type =
    decision.status === 429
      ? 'rate_limit_error'
      : decision.status === 401
        ? 'invalid_api_key'
        : decision.status >= 500
          ? 'server_error'
          : 'invalid_request_error';
  sendJson(
    res,
    decision.status,
    { error: { message: decision.message ?? errorMessages[decision.status] ?? 'error (fake)', type, param: null, code: null } },
    headers,
  );
}

export function openaiReply(res: ServerResponse, decision: Decision, turn: TurnState, body: unknown, usage: FakeUsage): void {
  if (decision.kind === 'error') return openaiError(res, decision);
  if (decision.kind === 'hang') return;
  const model = (isRecord(body) ? asString(body.model) : undefined) ?? 'fake-model';
  const id = fakeId('resp');
  const base = { id, object: 'response', created_at: Math.floor(Date.now() / 1000), model };
  let sequence = 0;
  const event = (type: string, data: Record<string, unknown>): void => sendEvent(res, { type, sequence_number: sequence++, ...data }, type);
  startEventStream(res);
  event('response.created', { response: { ...base, status: 'in_progress', output: [] } });
  if (decision.kind === 'stall') return;
  const item = decision.kind === 'text' ? message(decision.text) : toolItem(decision.intent, turn);
  event('response.output_item.added', { output_index: 0, item: { ...item, status: 'in_progress' } });
  if (item.type === 'message') {
    const text = asString((asArray(item.content)[0] as Record<string, unknown> | undefined)?.text) ?? '';
    const part = { type: 'output_text', text: '', annotations: [] };
    event('response.content_part.added', { item_id: item.id, output_index: 0, content_index: 0, part });
    event('response.output_text.delta', { item_id: item.id, output_index: 0, content_index: 0, delta: text });
    event('response.output_text.done', { item_id: item.id, output_index: 0, content_index: 0, text });
    event('response.content_part.done', { item_id: item.id, output_index: 0, content_index: 0, part: { ...part, text } });
  }
  event('response.output_item.done', { output_index: 0, item });
  event('response.completed', {
    response: {
      ...base,
      status: 'completed',
      output: [item],
      usage: {
        input_tokens: usage.input,
        input_tokens_details: { cached_tokens: 0 },
        output_tokens: usage.output,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: usage.input + usage.output,
      },
    },
  });
  res.end();
}
