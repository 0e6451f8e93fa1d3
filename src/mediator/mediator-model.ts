import { z } from 'zod';
import { errorMessage } from '../platform/errors.js';

/**
 * The mediator's own small port to a local model: one structured completion. It is not an
 * AgentRunner: the mediator never edits code and is not routed, it turns text into JSON.
 */
interface MediatorRequest {
  readonly system: string;
  readonly prompt: string;
  /** JSON schema the answer must follow (Ollama's `format`). */
  readonly schema: Readonly<Record<string, unknown>>;
  readonly signal?: AbortSignal | undefined;
}

export const MediatorFailureKind = {
  /** Nothing answers at the host (connection refused, DNS). */
  unreachable: 'unreachable',
  timeout: 'timeout',
  /** The server answered with an error status (e.g. the model is not pulled). */
  http: 'http',
  /** A 2xx answer that is not Ollama's response shape. */
  badResponse: 'bad_response',
  cancelled: 'cancelled',
} as const;
export type MediatorFailureKind = (typeof MediatorFailureKind)[keyof typeof MediatorFailureKind];

type MediatorCompletion =
  | { readonly ok: true; readonly text: string; readonly tokensInput: number; readonly tokensOutput: number; readonly latencyMs: number }
  | { readonly ok: false; readonly kind: MediatorFailureKind; readonly message: string };

export interface MediatorModel {
  /** For messages: which model at which host, e.g. `llama3.1:8b at http://127.0.0.1:11434`. */
  readonly label: string;
  complete(request: MediatorRequest): Promise<MediatorCompletion>;
}

const DEFAULT_OLLAMA_HOST = 'http://127.0.0.1:11434';
export const DEFAULT_MEDIATOR_MODEL = 'llama3.1:8b';

/**
 * OLLAMA_HOST as the ollama tools read it: `host`, `host:port` or a URL; no scheme means http and
 * no port means 11434. `0.0.0.0` (a server bind address) is reached through the loopback.
 */
export function ollamaBaseUrl(value: string | undefined): string {
  const raw = (value ?? '').trim();
  if (raw === '') return DEFAULT_OLLAMA_HOST;
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return DEFAULT_OLLAMA_HOST;
  }
  if (url.hostname === '0.0.0.0') url.hostname = '127.0.0.1';
  const authority = withScheme.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').split('/')[0] ?? '';
  if (!/:\d+$/.test(authority) && url.protocol === 'http:') url.port = '11434';
  return url.toString().replace(/\/+$/, '');
}

const ChatResponseSchema = z.object({
  message: z.object({ content: z.string() }),
  prompt_eval_count: z.number().int().nonnegative().optional(),
  eval_count: z.number().int().nonnegative().optional(),
});

const ErrorBodySchema = z.object({ error: z.string() });

export interface OllamaMediatorOptions {
  readonly model: string;
  /** Base URL; see `ollamaBaseUrl`. */
  readonly host?: string | undefined;
  /** Wall-clock limit of one completion; a local 8B model on a CPU can take a while. */
  readonly timeoutMs?: number | undefined;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
}

function causeCode(error: unknown): string | undefined {
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause instanceof Error && 'code' in cause && typeof cause.code === 'string') return cause.code;
  return undefined;
}

/** A MediatorModel over Ollama's `POST /api/chat` with `stream: false` and `format` = the JSON schema. */
export function createOllamaMediatorModel(options: OllamaMediatorOptions): MediatorModel {
  const base = ollamaBaseUrl(options.host);
  const timeoutMs = options.timeoutMs ?? 120_000;
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const label = `${options.model} at ${base}`;
  return {
    label,
    async complete(request) {
      if (request.signal?.aborted) return { ok: false, kind: MediatorFailureKind.cancelled, message: 'cancelled before the call' };
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
      const started = now();
      let response: Response;
      try {
        response = await doFetch(`${base}/api/chat`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            model: options.model,
            messages: [
              { role: 'system', content: request.system },
              { role: 'user', content: request.prompt },
            ],
            stream: false,
            format: request.schema,
            // Interpretation should be repeatable, not creative.
            options: { temperature: 0 },
          }),
          signal,
        });
      } catch (error) {
        if (request.signal?.aborted) return { ok: false, kind: MediatorFailureKind.cancelled, message: 'cancelled' };
        if (timeout.aborted) return { ok: false, kind: MediatorFailureKind.timeout, message: `${label} did not answer within ${timeoutMs} ms` };
        const code = causeCode(error);
        return {
          ok: false,
          kind: MediatorFailureKind.unreachable,
          message: `Ollama is not reachable at ${base} (${code ?? errorMessage(error)}); is \`ollama serve\` running?`,
        };
      }
      let body: unknown;
      try {
        const text = await response.text();
        body = text === '' ? undefined : (JSON.parse(text) as unknown);
      } catch (error) {
        if (timeout.aborted) return { ok: false, kind: MediatorFailureKind.timeout, message: `${label} did not finish its answer within ${timeoutMs} ms` };
        if (!response.ok) return { ok: false, kind: MediatorFailureKind.http, message: `Ollama at ${base} answered HTTP ${response.status}` };
        return { ok: false, kind: MediatorFailureKind.badResponse, message: `Ollama at ${base} sent a body that is not JSON: ${errorMessage(error)}` };
      }
      if (!response.ok) {
        const detail = ErrorBodySchema.safeParse(body);
        const text = detail.success ? detail.data.error : `HTTP ${response.status}`;
        const hint = response.status === 404 && /not found/i.test(text) ? `; run \`ollama pull ${options.model}\`` : '';
        return { ok: false, kind: MediatorFailureKind.http, message: `Ollama at ${base} refused the call (HTTP ${response.status}: ${text})${hint}` };
      }
      const parsed = ChatResponseSchema.safeParse(body);
      if (!parsed.success) return { ok: false, kind: MediatorFailureKind.badResponse, message: `Ollama at ${base} answered without message.content` };
      return {
        ok: true,
        text: parsed.data.message.content,
        tokensInput: parsed.data.prompt_eval_count ?? 0,
        tokensOutput: parsed.data.eval_count ?? 0,
        latencyMs: now() - started,
      };
    },
  };
}

/** Whether Ollama answers at `host` and has `model` pulled; for a start-up line, never for decisions. */
export async function probeOllama(options: {
  host?: string | undefined;
  model: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}): Promise<{ ok: boolean; message: string }> {
  const base = ollamaBaseUrl(options.host);
  const doFetch = options.fetch ?? fetch;
  try {
    const response = await doFetch(`${base}/api/tags`, { signal: AbortSignal.timeout(options.timeoutMs ?? 2_000) });
    if (!response.ok) return { ok: false, message: `Ollama at ${base} answered HTTP ${response.status}` };
    const body = z.object({ models: z.array(z.object({ name: z.string() })).default([]) }).safeParse(await response.json());
    const names = body.success ? body.data.models.map((m) => m.name) : [];
    const wanted = options.model.includes(':') ? options.model : `${options.model}:latest`;
    if (!names.includes(options.model) && !names.includes(wanted))
      return { ok: false, message: `Ollama at ${base} has no model ${options.model} (run \`ollama pull ${options.model}\`)` };
    return { ok: true, message: `${options.model} at ${base}` };
  } catch (error) {
    return { ok: false, message: `Ollama is not reachable at ${base} (${causeCode(error) ?? errorMessage(error)})` };
  }
}
