import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake Ollama server on 127.0.0.1 with the real endpoint shapes (shared/notes/coding-clis.md):
 * POST /api/chat and /api/generate (stream:false → one JSON object; otherwise NDJSON chunks ending
 * with done:true), GET /api/tags and /api/version, errors as a status with `{"error": "..."}`.
 * Each test scripts the answers to chat/generate calls and reads the requests it got.
 */

type FakeOllamaReply =
  /** The assistant's message content (a JSON string when the caller asked for a format). */
  | { readonly content: string }
  | { readonly status: number; readonly error: string }
  /** A body that is not Ollama's shape, sent as is with status 200. */
  | { readonly raw: string }
  /** Never answers until the client gives up. */
  | { readonly hang: true };

export interface FakeOllamaRequest {
  readonly path: string;
  readonly body: Record<string, unknown>;
}

export interface FakeOllama {
  readonly url: string;
  readonly requests: FakeOllamaRequest[];
  /** Chat/generate requests only, with their messages. */
  chats(): FakeOllamaRequest[];
  /** Queues answers; each chat/generate call takes the next, the last one repeats. */
  reply(...replies: (FakeOllamaReply | ((request: FakeOllamaRequest) => FakeOllamaReply))[]): void;
  close(): Promise<void>;
}

const fakeOllamaVersion = '0.12.6';

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return {};
  const parsed: unknown = JSON.parse(text);
  return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
}

function counts(body: Record<string, unknown>, content: string): Record<string, number> {
  const prompt = JSON.stringify(body['messages'] ?? body['prompt'] ?? '').length;
  return {
    total_duration: 1_200_000,
    load_duration: 100_000,
    prompt_eval_count: Math.ceil(prompt / 4),
    prompt_eval_duration: 400_000,
    eval_count: Math.ceil(content.length / 4),
    eval_duration: 700_000,
  };
}

export async function startFakeOllama(options: { models?: readonly string[] } = {}): Promise<FakeOllama> {
  const requests: FakeOllamaRequest[] = [];
  const queue: (FakeOllamaReply | ((request: FakeOllamaRequest) => FakeOllamaReply))[] = [];
  let calls = 0;
  const hanging = new Set<ServerResponse>();
  const models = options.models ?? ['llama3.1:8b'];

  const server = createServer((req, res) => {
    void (async () => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      const body: Record<string, unknown> = req.method === 'POST' ? await readBody(req).catch(() => ({})) : {};
      const request = { path, body };
      requests.push(request);
      if (req.method === 'GET' && path === '/api/tags') {
        send(res, 200, {
          models: models.map((name) => ({
            name,
            model: name,
            modified_at: '2026-11-22T10:00:00Z',
            size: 4_920_753_328,
            digest: 'sha256:fake',
            details: { family: 'llama', parameter_size: '8.0B', quantization_level: 'Q4_K_M' },
          })),
        });
        return;
      }
      if (req.method === 'GET' && path === '/api/version') {
        send(res, 200, { version: fakeOllamaVersion });
        return;
      }
      if (req.method !== 'POST' || (path !== '/api/chat' && path !== '/api/generate')) {
        send(res, 404, { error: `404 page not found` });
        return;
      }
      const model = typeof body['model'] === 'string' ? body['model'] : '';
      if (!models.includes(model)) {
        send(res, 404, { error: `model "${model}" not found, try pulling it first` });
        return;
      }
      const next = queue[Math.min(calls, queue.length - 1)];
      calls++;
      const reply = next === undefined ? { status: 500, error: 'the fake has no scripted answer' } : typeof next === 'function' ? next(request) : next;
      if ('hang' in reply) {
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      }
      if ('status' in reply) {
        send(res, reply.status, { error: reply.error });
        return;
      }
      if ('raw' in reply) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(reply.raw);
        return;
      }
      const chat = path === '/api/chat';
      const created_at = new Date().toISOString();
      const payload = (content: string, done: boolean) =>
        chat ? { model, created_at, message: { role: 'assistant', content }, done } : { model, created_at, response: content, done };
      // The server's default is streaming; the JS client always sends stream:false.
      if (body['stream'] === false) {
        send(res, 200, { ...payload(reply.content, true), done_reason: 'stop', ...counts(body, reply.content) });
        return;
      }
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      const pieces = reply.content.match(/[\s\S]{1,16}/g) ?? [''];
      for (const piece of pieces) res.write(`${JSON.stringify(payload(piece, false))}\n`);
      res.end(`${JSON.stringify({ ...payload('', true), done_reason: 'stop', ...counts(body, reply.content) })}\n`);
    })().catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { error: String(error) });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    chats: () => requests.filter((r) => r.path === '/api/chat' || r.path === '/api/generate'),
    reply(...replies) {
      queue.push(...replies);
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
