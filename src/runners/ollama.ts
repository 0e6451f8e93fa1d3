import { performance } from 'node:perf_hooks';
import { Ollama } from 'ollama';
import type { ExecutionResult, RunRequest } from '../model/execution.js';
import type { AgentRunner } from './agent-runner.js';
import { kindOfHttpStatus, type ClassifiedError } from './classify-error.js';
import type { RunnerEvent } from './cli-runner.js';
import { costFromTokens } from './pricing.js';
import { OllamaSettingsSchema, pricesOf, type OllamaSettingsInput } from './runner-settings.js';

export interface OllamaRunnerOptions {
  readonly onEvent?: ((event: RunnerEvent) => void) | undefined;
}

type OllamaVersion =
  | { readonly ok: true; readonly host: string; readonly version: string }
  | { readonly ok: false; readonly host: string; readonly message: string };

export interface OllamaRunner extends AgentRunner {
  /** The server's version (`GET /api/version`), which also tells whether it is reachable. */
  version(): Promise<OllamaVersion>;
}

const VERSION_TIMEOUT_MS = 10_000;

/** The client throws this (unexported) class for a non-2xx answer. */
function responseStatus(error: unknown): number | undefined {
  if (!(error instanceof Error) || error.name !== 'ResponseError') return undefined;
  const status = (error as Error & { status_code?: unknown }).status_code;
  return typeof status === 'number' ? status : undefined;
}

function retryAfterMs(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1_000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * A local model behind Ollama's `/api/chat`, through the official `ollama` client. The answer schema
 * goes into `format`, so the server constrains the output to it. Ollama edits no files: the runner
 * only answers, whatever the role.
 */
export function createOllamaRunner(input: OllamaSettingsInput = {}, options: OllamaRunnerOptions = {}): OllamaRunner {
  const settings = OllamaSettingsSchema.parse(input);

  async function call(request: RunRequest, signal: AbortSignal, started: number): Promise<ExecutionResult> {
    const finish = (fields: { response?: string; usage?: { input: number; output: number }; error?: ClassifiedError }): ExecutionResult => {
      const usage = fields.usage;
      const cost = usage === undefined ? undefined : costFromTokens(request.model.model, usage.input, usage.output, pricesOf(settings.prices));
      return {
        provider: request.model.provider,
        model: request.model.model,
        role: request.role,
        response: fields.response ?? '',
        tokens_input: usage?.input ?? 0,
        tokens_output: usage?.output ?? 0,
        tokens_estimated: false,
        cost_usd: cost ?? 0,
        cost_source: cost === undefined ? 'unpriced' : 'price_table',
        latency_ms: Math.max(0, Math.round(performance.now() - started)),
        success: fields.error === undefined,
        ...(fields.error === undefined ? {} : { error: `ollama: ${fields.error.message}`, error_kind: fields.error.kind }),
        ...(fields.error?.retryAfterMs === undefined ? {} : { retry_after_ms: fields.error.retryAfterMs }),
        ...(fields.error?.httpStatus === undefined ? {} : { http_status: fields.error.httpStatus }),
        runner: 'ollama',
      };
    };
    if (signal.aborted) return finish({ error: { kind: 'cancelled', message: 'the call was cancelled before it started' } });

    const stop = new AbortController();
    let why: 'timeout' | 'cancel' | undefined;
    const timer = setTimeout(() => {
      why ??= 'timeout';
      stop.abort();
    }, request.timeoutMs);
    const onAbort = (): void => {
      why ??= 'cancel';
      stop.abort();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    let retryAfter: number | undefined;
    const client = new Ollama({
      host: settings.host,
      fetch: async (url, init) => {
        const signals = [stop.signal, ...(init?.signal ? [init.signal] : [])];
        const response = await fetch(url, { ...init, signal: AbortSignal.any(signals) });
        if (!response.ok) retryAfter = retryAfterMs(response.headers.get('retry-after'), Date.now());
        return response;
      },
    });
    let text = '';
    let answered = false;
    try {
      const stream = await client.chat({
        model: request.model.model,
        messages: [{ role: 'user', content: request.prompt }],
        stream: true,
        ...(request.outputSchema === undefined ? {} : { format: request.outputSchema }),
        ...(Object.keys(settings.options).length === 0 ? {} : { options: settings.options }),
        ...(settings.keep_alive === undefined ? {} : { keep_alive: settings.keep_alive }),
      });
      answered = true;
      // The client's own abort ends the body stream; our signal alone would leave the reader waiting.
      stop.signal.addEventListener('abort', () => stream.abort(), { once: true });
      for await (const part of stream) {
        options.onEvent?.({ runner: 'ollama', taskId: request.taskId, stepId: request.stepId, role: request.role, event: part });
        text += part.message.content;
        if (part.done) return finish({ response: text, usage: { input: part.prompt_eval_count, output: part.eval_count } });
      }
      if (why !== undefined) return stopped(why, request, finish, text);
      return finish({ response: text, error: { kind: 'bad_output', message: 'the answer stream ended without its final (done) message' } });
    } catch (error) {
      if (why !== undefined) return stopped(why, request, finish, text);
      const status = responseStatus(error);
      const message = error instanceof Error ? error.message : String(error);
      if (status !== undefined) {
        const hint = status === 404 ? ` (is the model pulled? run: ollama pull ${request.model.model})` : '';
        return finish({
          error: {
            kind: kindOfHttpStatus(status),
            message: `HTTP ${status}: ${message}${hint}`,
            httpStatus: status,
            retryAfterMs: status === 429 ? retryAfter : undefined,
          },
        });
      }
      // The server answered 200 but not with Ollama's stream of JSON lines (a proxy page, another API).
      if (answered)
        return finish({
          response: text,
          error: { kind: 'bad_output', message: `the answer from ${settings.host} is not Ollama's JSON stream: ${causeOf(error)}` },
        });
      return finish({ error: { kind: 'crashed', message: `cannot reach Ollama at ${settings.host}: ${causeOf(error)}` } });
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  return {
    name: 'ollama',
    async run(request, { signal }) {
      const started = performance.now();
      try {
        return await call(request, signal, started);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        return {
          provider: request.model.provider,
          model: request.model.model,
          role: request.role,
          response: '',
          tokens_input: 0,
          tokens_output: 0,
          tokens_estimated: false,
          cost_usd: 0,
          latency_ms: Math.round(performance.now() - started),
          success: false,
          error: `ollama: ${message}`,
          error_kind: signal.aborted ? 'cancelled' : 'crashed',
          runner: 'ollama',
        };
      }
    },
    async version() {
      const client = new Ollama({ host: settings.host, fetch: (url, init) => fetch(url, { ...init, signal: AbortSignal.timeout(VERSION_TIMEOUT_MS) }) });
      try {
        const { version } = await client.version();
        return { ok: true, host: settings.host, version };
      } catch (error) {
        return { ok: false, host: settings.host, message: `cannot reach Ollama at ${settings.host}: ${causeOf(error)}` };
      }
    },
  };
}

function stopped(
  why: 'timeout' | 'cancel',
  request: RunRequest,
  finish: (fields: { response?: string; error?: ClassifiedError }) => ExecutionResult,
  partial: string,
): ExecutionResult {
  if (why === 'cancel') return finish({ response: partial, error: { kind: 'cancelled', message: 'the call was cancelled' } });
  return finish({ response: partial, error: { kind: 'timeout', message: `stopped after its wall-clock timeout: no answer within ${request.timeoutMs} ms` } });
}

/** fetch reports "fetch failed" and hides the reason (ECONNREFUSED, ENOTFOUND) in its cause. */
function causeOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause;
  if (cause instanceof Error) return `${error.message} (${(cause as NodeJS.ErrnoException).code ?? cause.message})`;
  return error.message;
}
