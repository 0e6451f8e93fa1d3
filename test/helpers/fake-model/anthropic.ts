import type { ServerResponse } from 'node:http';
import path from 'node:path';
import { structuredOutputTool, type Decision, type ToolIntent, type TurnState } from './scenario.js';
import { asArray, asString, fakeId, isRecord, sendEvent, sendJson, startEventStream, type FakeUsage } from './wire.js';

/** Anthropic Messages API (`POST /v1/messages`), as Claude Code uses it. */

export function anthropicTurn(body: unknown): TurnState {
  const messages = isRecord(body) ? asArray(body.messages) : [];
  const tools = isRecord(body) ? asArray(body.tools).flatMap((t) => (isRecord(t) && typeof t.name === 'string' ? [t.name] : [])) : [];
  let toolResults = 0;
  let lastToolOutput: string | undefined;
  let lastToolFailed = false;
  for (const message of messages) {
    if (!isRecord(message)) continue;
    for (const block of asArray(message.content)) {
      if (!isRecord(block) || block.type !== 'tool_result') continue;
      toolResults++;
      lastToolOutput = blockText(block.content);
      lastToolFailed = block.is_error === true;
    }
  }
  return { toolResults, lastToolOutput, lastToolFailed, tools };
}

function blockText(content: unknown): string {
  if (typeof content === 'string') return content;
  return asArray(content)
    .map((part) => (isRecord(part) ? (asString(part.text) ?? '') : ''))
    .join('');
}

/** Claude's tools want absolute paths; it tells the model its cwd in the environment section. */
function workingDirectory(body: unknown): string | undefined {
  const match = /Primary working directory: ([^\n"\\]+)/.exec(JSON.stringify(body));
  return match?.[1]?.trim();
}

function toolCall(intent: ToolIntent, turn: TurnState, body: unknown): { name: string; input: unknown } {
  const absolute = (file: string): string => {
    const cwd = workingDirectory(body);
    return path.isAbsolute(file) || cwd === undefined ? file : path.join(cwd, file);
  };
  switch (intent.kind) {
    case 'structured':
      return { name: structuredOutputTool, input: intent.value };
    case 'read':
      return { name: 'Read', input: { file_path: absolute(intent.path) } };
    case 'write':
      // A read-only run offers neither; the fake then asks for Write anyway, like a model that ignores its tool list.
      if (!turn.tools.includes('Write') && turn.tools.includes('Edit')) {
        return { name: 'Edit', input: { file_path: absolute(intent.path), old_string: '', new_string: intent.content } };
      }
      return { name: 'Write', input: { file_path: absolute(intent.path), content: intent.content } };
  }
}

const errorTypes: Readonly<Record<number, string>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

const errorMessages: Readonly<Record<number, string>> = {
  400: 'Invalid request (fake)',
  401: 'invalid x-api-key',
  429: 'Number of request tokens has exceeded your per-minute rate limit',
  500: 'Internal server error',
  529: 'Overloaded',
};

export function anthropicError(res: ServerResponse, decision: Extract<Decision, { kind: 'error' }>): void {
  const headers: Record<string, string> = decision.retryAfterSeconds === undefined ? {} : { 'retry-after': String(decision.retryAfterSeconds) };
  sendJson(
    res,
    decision.status,
    {
      type: 'error',
      error: { type: errorTypes[decision.status] ?? 'api_error', message: decision.message ?? errorMessages[decision.status] ?? 'error (fake)' },
    },
    headers,
  );
}

type Block = { type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: unknown };

export function anthropicReply(res: ServerResponse, decision: Decision, turn: TurnState, body: unknown, usage: FakeUsage): void {
  const model = (isRecord(body) ? asString(body.model) : undefined) ?? 'claude-fake';
  const stream = isRecord(body) && body.stream === true;
  if (decision.kind === 'error') return anthropicError(res, decision);
  if (decision.kind === 'hang') return;
  const id = fakeId('msg');
  if (decision.kind === 'stall') {
    startEventStream(res);
    sendEvent(res, messageStart(id, model, usage), 'message_start');
    return;
  }
  const blocks: Block[] =
    decision.kind === 'text' ? [{ type: 'text', text: decision.text }] : [{ type: 'tool_use', id: fakeId('toolu'), ...toolCall(decision.intent, turn, body) }];
  const stopReason = decision.kind === 'text' ? 'end_turn' : 'tool_use';
  if (!stream) {
    sendJson(res, 200, {
      id,
      type: 'message',
      role: 'assistant',
      model,
      content: blocks,
      stop_reason: stopReason,
      stop_sequence: null,
      usage: { input_tokens: usage.input, output_tokens: usage.output },
    });
    return;
  }
  startEventStream(res);
  sendEvent(res, messageStart(id, model, usage), 'message_start');
  blocks.forEach((block, index) => {
    if (block.type === 'text') {
      sendEvent(res, { type: 'content_block_start', index, content_block: { type: 'text', text: '' } }, 'content_block_start');
      sendEvent(res, { type: 'content_block_delta', index, delta: { type: 'text_delta', text: block.text } }, 'content_block_delta');
    } else {
      sendEvent(
        res,
        { type: 'content_block_start', index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } },
        'content_block_start',
      );
      sendEvent(
        res,
        { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) } },
        'content_block_delta',
      );
    }
    sendEvent(res, { type: 'content_block_stop', index }, 'content_block_stop');
  });
  sendEvent(res, { type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: usage.output } }, 'message_delta');
  sendEvent(res, { type: 'message_stop' }, 'message_stop');
  res.end();
}

function messageStart(id: string, model: string, usage: FakeUsage): unknown {
  return {
    type: 'message_start',
    message: {
      id,
      type: 'message',
      role: 'assistant',
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: usage.input, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    },
  };
}
