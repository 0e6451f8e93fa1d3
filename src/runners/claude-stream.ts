import { kindOfHttpStatus, kindOfMessage, retryAfterFromText, type ClassifiedError } from './classify-error.js';
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

/** Claude Code tools that write a file, and the input field naming it. */
const writeTools: Readonly<Record<string, string>> = { Write: 'file_path', Edit: 'file_path', MultiEdit: 'file_path', NotebookEdit: 'notebook_path' };

export function claudeWritePaths(name: string, input: unknown): string[] {
  const field = writeTools[name];
  const file = field !== undefined && isRecord(input) ? asString(input[field]) : undefined;
  return file === undefined ? [] : [file];
}

function toolResultText(content: unknown): string {
  if (typeof content === 'string') return content;
  return asArray(content)
    .map((part) => (isRecord(part) ? (asString(part.text) ?? '') : ''))
    .join('');
}

/**
 * Reads `claude -p --output-format stream-json --verbose`: a `system/init` line, `assistant` and `user`
 * lines per content block, and a final `result` line (see shared/notes/coding-clis.md).
 */
export function createClaudeStreamParser(): StreamParser {
  let result: Record<string, unknown> | undefined;
  let text = '';
  // Each content block arrives as its own line carrying the whole message's usage: count a message once.
  const partial = new Map<string, TokenUsage>();

  return {
    feed(event) {
      if (!isRecord(event)) return [];
      const signals: StreamSignal[] = [];
      if (event.type === 'assistant' && isRecord(event.message)) {
        const message = event.message;
        const id = asString(message.id);
        if (id !== undefined && isRecord(message.usage)) partial.set(id, usageOf(message.usage));
        for (const block of asArray(message.content)) {
          if (!isRecord(block)) continue;
          if (block.type === 'text') text = asString(block.text) ?? text;
          if (block.type === 'tool_use') {
            const name = asString(block.name) ?? '?';
            signals.push({ kind: 'tool_call', id: asString(block.id) ?? '', name, input: block.input, writes: claudeWritePaths(name, block.input) });
          }
        }
      } else if (event.type === 'user' && isRecord(event.message)) {
        for (const block of asArray(event.message.content)) {
          if (!isRecord(block) || block.type !== 'tool_result') continue;
          signals.push({ kind: 'tool_result', id: asString(block.tool_use_id) ?? '', output: toolResultText(block.content), failed: block.is_error === true });
        }
      } else if (event.type === 'result') {
        result = event;
      }
      return signals;
    },

    finish(exit: ExitInfo): StreamOutcome {
      if (result === undefined) {
        const usage = partial.size === 0 ? undefined : sum([...partial.values()]);
        return { text, usage, completed: false, denials: [] };
      }
      const denials = asArray(result.permission_denials).flatMap((d) => {
        if (!isRecord(d)) return [];
        const tool = asString(d.tool_name) ?? '?';
        const [file] = claudeWritePaths(tool, d.tool_input);
        return [{ tool, path: file }];
      });
      return {
        text: asString(result.result) ?? text,
        ...(result.structured_output === undefined ? {} : { structured: result.structured_output }),
        usage: isRecord(result.usage) ? usageOf(result.usage) : undefined,
        costUsd: typeof result.total_cost_usd === 'number' ? result.total_cost_usd : undefined,
        error: result.is_error === true ? claudeError(result, exit.now) : undefined,
        completed: true,
        denials,
      };
    },
  };
}

/** Input counts every prompt token the API processed, cached or not: that is what the context holds. */
function usageOf(usage: Record<string, unknown>): TokenUsage {
  return {
    input: asCount(usage.input_tokens) + asCount(usage.cache_creation_input_tokens) + asCount(usage.cache_read_input_tokens),
    output: asCount(usage.output_tokens),
  };
}

function sum(usages: readonly TokenUsage[]): TokenUsage {
  return usages.reduce((a, b) => ({ input: a.input + b.input, output: a.output + b.output }), { input: 0, output: 0 });
}

const apiErrorKinds: Readonly<Record<string, ClassifiedError['kind']>> = {
  rate_limit_error: 'rate_limit',
  overloaded_error: 'overloaded',
  authentication_error: 'auth',
  permission_error: 'auth',
};

export function claudeError(result: Record<string, unknown>, now: number): ClassifiedError {
  const message =
    asString(result.result) ??
    asArray(result.errors)
      .filter((e) => typeof e === 'string')
      .join('; ');
  if (result.subtype === 'error_max_turns' || result.terminal_reason === 'max_turns') {
    const errors = asArray(result.errors).filter((e): e is string => typeof e === 'string');
    return { kind: 'no_progress', message: `turn limit reached: ${errors.join('; ') || 'error_max_turns'}` };
  }
  const status = typeof result.api_error_status === 'number' ? result.api_error_status : undefined;
  const type = asString(result.api_error_type);
  const retryAfterMs = retryAfterFromText(message, now);
  if (status !== undefined) {
    const kind = type !== undefined && apiErrorKinds[type] !== undefined ? apiErrorKinds[type] : kindOfHttpStatus(status);
    return { kind, message: `API error ${status}${type ? ` (${type})` : ''}: ${message}`, httpStatus: status, retryAfterMs };
  }
  if (type !== undefined && apiErrorKinds[type] !== undefined) return { kind: apiErrorKinds[type], message, retryAfterMs };
  if (/request timed out/i.test(message)) return { kind: 'timeout', message };
  if (result.api_error === 'connection_failed') return { kind: 'crashed', message: `cannot reach the model API: ${message}` };
  const kind = kindOfMessage(message) ?? 'crashed';
  return {
    kind,
    message: message || `claude reported an error (${asString(result.subtype) ?? 'unknown'})`,
    retryAfterMs: kind === 'rate_limit' ? retryAfterMs : undefined,
  };
}
