import { kindOfMessage, retryAfterFromText, type ClassifiedError } from './classify-error.js';
import {
  asArray,
  asCount,
  asString,
  isRecord,
  type ExitInfo,
  type StreamOutcome,
  type StreamParser,
  type StreamSignal,
  type TokenUsage,
} from './cli-stream.js';

function changedPaths(item: Record<string, unknown>): string[] {
  return asArray(item.changes).flatMap((c) => (isRecord(c) && typeof c.path === 'string' ? [c.path] : []));
}

/**
 * Reads `codex exec --json`: `thread.started`, `turn.started`, `item.started` / `item.completed`
 * (agent_message, command_execution, file_change, …), then `turn.completed` with the usage or
 * `turn.failed` with the error. `item.type:"error"` items and `error` events before the end are
 * warnings and reconnect notices, not failures (see shared/notes/coding-clis.md).
 */
export function createCodexStreamParser(): StreamParser {
  let text = '';
  let usage: TokenUsage | undefined;
  let completed = false;
  let failure: string | undefined;
  const announced = new Set<string>();

  const call = (item: Record<string, unknown>, id: string): StreamSignal | undefined => {
    if (announced.has(id)) return undefined;
    announced.add(id);
    switch (item.type) {
      case 'command_execution':
        return { kind: 'tool_call', id, name: 'command', input: item.command, writes: [] };
      case 'file_change':
        return { kind: 'tool_call', id, name: 'apply_patch', input: item.changes, writes: changedPaths(item) };
      case 'mcp_tool_call':
        return { kind: 'tool_call', id, name: `${asString(item.server) ?? 'mcp'}.${asString(item.tool) ?? '?'}`, input: item.arguments, writes: [] };
      default:
        return undefined;
    }
  };

  return {
    feed(event) {
      if (!isRecord(event)) return [];
      const signals: StreamSignal[] = [];
      const item = isRecord(event.item) ? event.item : undefined;
      if (event.type === 'item.started' && item) {
        const started = call(item, asString(item.id) ?? '');
        if (started) signals.push(started);
      } else if (event.type === 'item.completed' && item) {
        const id = asString(item.id) ?? '';
        if (item.type === 'agent_message') text = asString(item.text) ?? text;
        const started = call(item, id);
        if (started) signals.push(started);
        if (item.type === 'command_execution') {
          signals.push({
            kind: 'tool_result',
            id,
            output: `${String(item.exit_code)}\u0000${asString(item.aggregated_output) ?? ''}`,
            failed: item.exit_code !== 0,
          });
        } else if (item.type === 'file_change' || item.type === 'mcp_tool_call') {
          signals.push({ kind: 'tool_result', id, output: JSON.stringify(item.result ?? item.status ?? ''), failed: item.status !== 'completed' });
        }
      } else if (event.type === 'turn.completed') {
        completed = true;
        if (isRecord(event.usage)) {
          const turn = { input: asCount(event.usage.input_tokens), output: asCount(event.usage.output_tokens) };
          usage = usage === undefined ? turn : { input: usage.input + turn.input, output: usage.output + turn.output };
        }
      } else if (event.type === 'turn.failed') {
        completed = true;
        failure = (isRecord(event.error) ? asString(event.error.message) : undefined) ?? 'turn failed';
      }
      return signals;
    },

    finish(exit: ExitInfo): StreamOutcome {
      if (failure !== undefined) return { text, usage, completed, denials: [], error: codexError(failure, exit.now) };
      // Codex refuses a patch outside the project itself and tells only the model and stderr; the model
      // may then claim success, so the attempt is reported as the violation it was.
      const refused = /patch rejected: writing outside of the project[^\n]*/.exec(exit.stderr)?.[0];
      if (refused !== undefined)
        return {
          text,
          usage,
          completed,
          denials: [],
          error: { kind: 'permission_denied', message: `the agent tried to write outside the worktree (${refused})` },
        };
      return { text, usage, completed, denials: [], error: undefined };
    },
  };
}

/** Codex reports API errors as text only, e.g. `unexpected status 401 Unauthorized: …` or `last status: 429 …`. */
export function codexError(message: string, now: number): ClassifiedError {
  const status = /status:? (\d{3})\b/i.exec(message)?.[1];
  const httpStatus = status === undefined ? undefined : Number(status);
  // `Missing environment variable: \`OPENAI_API_KEY\`` is codex's way of saying nobody is logged in.
  let kind = /missing environment variable/i.test(message) ? 'auth' : (kindOfMessage(message) ?? 'crashed');
  if (/stream disconnected|idle timeout/i.test(message)) kind = 'timeout';
  return { kind, message, httpStatus, retryAfterMs: kind === 'rate_limit' ? retryAfterFromText(message, now) : undefined };
}
