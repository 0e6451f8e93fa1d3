import { httpStatusFromExitCode, kindOfHttpStatus, kindOfMessage, retryAfterFromText, type ClassifiedError } from './classify-error.js';
import { asCount, asString, isRecord, type ExitInfo, type StreamOutcome, type StreamParser, type StreamSignal } from './cli-stream.js';

/** Gemini CLI tools that write a file; both name it in `file_path`. */
const writeTools = new Set(['write_file', 'replace']);

export function geminiWritePaths(name: string, input: unknown): string[] {
  const file = writeTools.has(name) && isRecord(input) ? asString(input.file_path) : undefined;
  return file === undefined ? [] : [file];
}

/** Gemini CLI's own exit codes (0.61.0), besides the HTTP status modulo 256 of an API error. */
const exitKinds: Readonly<Record<number, ClassifiedError>> = {
  41: { kind: 'auth', message: 'authentication failed (exit 41); log in with `gemini` or set GEMINI_API_KEY' },
  42: { kind: 'crashed', message: 'the CLI rejected its input (exit 42)' },
  53: { kind: 'no_progress', message: 'turn limit reached (exit 53)' },
  55: { kind: 'crashed', message: 'the folder is not trusted (exit 55)' },
};

/**
 * Reads `gemini --output-format stream-json`: `init`, `message`, `tool_use`, `tool_result` and a final
 * `result` event whose `status` says whether the call succeeded (see shared/notes/coding-clis.md).
 */
export function createGeminiStreamParser(): StreamParser {
  let result: Record<string, unknown> | undefined;
  let text = '';
  /** When the last request went out (the user message, or a tool's result), by the CLI's own timestamps. */
  let requestedAt: number | undefined;
  return {
    feed(event) {
      if (!isRecord(event)) return [];
      const signals: StreamSignal[] = [];
      const at = Date.parse(asString(event.timestamp) ?? '');
      if ((event.type === 'message' && event.role === 'user') || event.type === 'tool_result') requestedAt = Number.isNaN(at) ? requestedAt : at;
      switch (event.type) {
        case 'message':
          if (event.role === 'assistant') text = event.delta === true ? text + (asString(event.content) ?? '') : (asString(event.content) ?? text);
          break;
        case 'tool_use': {
          const name = asString(event.tool_name) ?? '?';
          // The answer is what the model says after its last tool call.
          text = '';
          signals.push({
            kind: 'tool_call',
            id: asString(event.tool_id) ?? '',
            name,
            input: event.parameters,
            writes: geminiWritePaths(name, event.parameters),
          });
          break;
        }
        case 'tool_result': {
          const output = asString(event.output) ?? JSON.stringify(event.error ?? '');
          signals.push({ kind: 'tool_result', id: asString(event.tool_id) ?? '', output, failed: event.status !== 'success' });
          break;
        }
        case 'result':
          result = event;
          break;
      }
      return signals;
    },

    finish(exit: ExitInfo): StreamOutcome {
      const stats = isRecord(result?.stats) ? result.stats : undefined;
      const usage = stats === undefined ? undefined : { input: asCount(stats.input_tokens), output: asCount(stats.output_tokens) };
      if (result?.status === 'success') return { text, usage, completed: true, denials: [] };
      const error = unanswered(result, requestedAt) ?? geminiError(result, exit);
      return { text, usage, completed: result !== undefined, denials: [], error };
    },
  };
}

/**
 * Gemini CLI words a request that got no answer within its own request timeout (about 60 s) and one the
 * server refused at once the same way: `fetch failed sending request`. Only the wait tells them apart: a
 * fetch that failed after UNANSWERED_MS or more waited for an answer that never came (a timeout); one
 * that failed sooner was refused (a crash, from geminiError).
 */
const UNANSWERED_MS = 10_000;

function unanswered(result: Record<string, unknown> | undefined, requestedAt: number | undefined): ClassifiedError | undefined {
  const message = isRecord(result?.error) ? asString(result.error.message) : undefined;
  if (message === undefined || requestedAt === undefined || !/fetch failed sending request/i.test(message)) return undefined;
  const waited = Date.parse(asString(result?.timestamp) ?? '') - requestedAt;
  if (Number.isNaN(waited) || waited < UNANSWERED_MS) return undefined;
  return { kind: 'timeout', message: `no answer from the model after ${Math.round(waited / 1000)} s: ${message}` };
}

/** The error of a failed call, from the result event, the exit code and the error block on stderr. */
function geminiError(result: Record<string, unknown> | undefined, exit: ExitInfo): ClassifiedError | undefined {
  const resultError = isRecord(result?.error) ? result.error : undefined;
  const stderrError = stderrErrorBlock(exit.stderr);
  const message = asString(resultError?.message) ?? asString(stderrError?.message);
  const type = asString(resultError?.type) ?? asString(stderrError?.type);
  if (type === 'FatalTurnLimitedError') return { kind: 'no_progress', message: `turn limit reached: ${message ?? type}` };
  const status =
    httpStatusFromExitCode(exit.exitCode) ??
    statusFromStderr(exit.stderr) ??
    (typeof stderrError?.code === 'number' && stderrError.code >= 400 ? stderrError.code : undefined);
  const detail = message ?? lastLine(exit.stderr);
  if (status !== undefined) {
    const kind = kindOfHttpStatus(status);
    return {
      kind,
      message: `API error ${status}: ${detail}`,
      httpStatus: status,
      retryAfterMs: kind === 'rate_limit' ? retryAfterFromText(exit.stderr + detail, exit.now) : undefined,
    };
  }
  const byExit = exit.exitCode === null ? undefined : exitKinds[exit.exitCode];
  if (byExit) return { ...byExit, message: `${byExit.message}: ${detail}` };
  if (result === undefined && exit.exitCode === 0) return undefined;
  if (message !== undefined || result !== undefined) {
    const kind = kindOfMessage(detail) ?? 'crashed';
    return { kind, message: detail, retryAfterMs: kind === 'rate_limit' ? retryAfterFromText(detail, exit.now) : undefined };
  }
  return undefined;
}

/** The `{session_id, error:{type,message,code}}` block Gemini CLI prints to stderr on failure. */
function stderrErrorBlock(stderr: string): Record<string, unknown> | undefined {
  const start = stderr.indexOf('{\n  "session_id"');
  if (start < 0) return undefined;
  const end = stderr.indexOf('\n}', start);
  if (end < 0) return undefined;
  try {
    const block = JSON.parse(stderr.slice(start, end + 2)) as unknown;
    return isRecord(block) && isRecord(block.error) ? block.error : undefined;
  } catch {
    return undefined;
  }
}

/** The `status: 429` of the error object Gemini CLI dumps on stderr. */
function statusFromStderr(stderr: string): number | undefined {
  const match = /^\s*status: (\d{3}),?$/m.exec(stderr);
  return match?.[1] ? Number(match[1]) : undefined;
}

function lastLine(text: string): string {
  const lines = text
    .trim()
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('[STARTUP]'));
  return lines.at(-1) ?? '';
}
