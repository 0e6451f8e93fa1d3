import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { anthropicReply, anthropicTurn } from './fake-model/anthropic.js';
import { geminiReply, geminiRoute, geminiTurn } from './fake-model/gemini.js';
import { fakeOllamaVersion, ollamaReply, ollamaTags } from './fake-model/ollama.js';
import { openaiReply, openaiTurn } from './fake-model/openai.js';
import { decide, type Decision, type Scenario, type TurnState } from './fake-model/scenario.js';
import { parseBody, sendJson, type FakeUsage } from './fake-model/wire.js';

export type { Scenario } from './fake-model/scenario.js';

export type FakeProvider = 'anthropic' | 'gemini' | 'openai' | 'ollama' | 'unknown';

export interface RecordedRequest {
  readonly provider: FakeProvider;
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: unknown;
  /** What the fake decided to answer. */
  readonly decision: Decision['kind'];
}

/** Picks the scenario per request, e.g. by the role named in the prompt when several roles share the server. */
type ScenarioChooser = (request: { readonly provider: FakeProvider; readonly body: unknown; readonly text: string }) => Scenario;

export interface FakeModelServerOptions {
  readonly scenario?: Scenario | ScenarioChooser;
  /** Tokens reported for every model request. Default 100 in, 20 out. */
  readonly usage?: FakeUsage;
  /** Models listed by Ollama's `/api/tags`. */
  readonly ollamaModels?: readonly string[];
}

export interface FakeModelServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Answers every following request with this scenario (or the one the chooser picks for it). */
  use(scenario: Scenario | ScenarioChooser): void;
  /** Requests received so far (model calls and others), oldest first. */
  requests(provider?: FakeProvider): readonly RecordedRequest[];
  clearRequests(): void;
  /** Ends held connections (hang, stall) and stops listening. */
  close(): Promise<void>;
}

const defaultUsage: FakeUsage = { input: 100, output: 20 };
/** Bounds what one request may make the fake buffer, so a broken client cannot exhaust memory. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;

/**
 * A fake model backend on 127.0.0.1 and an ephemeral port, speaking enough of the Anthropic Messages,
 * Gemini, OpenAI Responses and Ollama APIs for the real coding CLIs to run against it. Each test picks a
 * scenario (plain answer, structured answer, file-writing tool call, a loop, an HTTP error, a hang or a
 * stalled stream) and asserts on the recorded requests.
 */
export async function startFakeModelServer(options: FakeModelServerOptions = {}): Promise<FakeModelServer> {
  let scenario: Scenario | ScenarioChooser = options.scenario ?? { kind: 'text', text: 'Hello from the fake model.' };
  const usage = options.usage ?? defaultUsage;
  const recorded: RecordedRequest[] = [];
  const sockets = new Set<Socket>();

  const handle = (req: IncomingMessage, res: ServerResponse, raw: string): void => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const body = parseBody(raw);
    const record = (provider: FakeProvider, decision: Decision['kind']): void => {
      recorded.push({ provider, method: req.method ?? '', url: req.url ?? '', headers: { ...req.headers }, body, decision });
    };
    const answer = (provider: FakeProvider, turn: TurnState): Decision => {
      const chosen = typeof scenario === 'function' ? scenario({ provider, body, text: raw }) : scenario;
      const decision = decide(chosen, turn);
      record(provider, decision.kind);
      return decision;
    };
    const pathname = url.pathname;
    if (req.method === 'POST' && pathname === '/v1/messages') {
      const turn = anthropicTurn(body);
      anthropicReply(res, answer('anthropic', turn), turn, body, usage);
      return;
    }
    if (req.method === 'POST' && pathname === '/v1/messages/count_tokens') {
      record('anthropic', 'text');
      sendJson(res, 200, { input_tokens: usage.input });
      return;
    }
    const gemini = req.method === 'POST' ? geminiRoute(pathname) : undefined;
    if (gemini && (gemini.method === 'generateContent' || gemini.method === 'streamGenerateContent')) {
      const turn = geminiTurn(body);
      geminiReply(res, answer('gemini', turn), gemini.model, gemini.method === 'streamGenerateContent', usage);
      return;
    }
    if (req.method === 'POST' && pathname === '/v1/responses') {
      const turn = openaiTurn(body);
      openaiReply(res, answer('openai', turn), turn, body, usage);
      return;
    }
    if (req.method === 'POST' && (pathname === '/api/chat' || pathname === '/api/generate')) {
      const turn: TurnState = { toolResults: 0, lastToolFailed: false, tools: [] };
      ollamaReply(res, answer('ollama', turn), pathname === '/api/chat' ? 'chat' : 'generate', body, usage);
      return;
    }
    if (req.method === 'GET' && pathname === '/api/tags') {
      record('ollama', 'text');
      ollamaTags(res, options.ollamaModels ?? ['fake']);
      return;
    }
    if (req.method === 'GET' && pathname === '/api/version') {
      record('ollama', 'text');
      sendJson(res, 200, { version: fakeOllamaVersion });
      return;
    }
    record('unknown', 'error');
    sendJson(res, 404, { error: { message: `the fake model server does not know ${req.method ?? ''} ${pathname}` } });
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      try {
        handle(req, res, Buffer.concat(chunks).toString('utf8'));
      } catch (error) {
        if (!res.headersSent) sendJson(res, 500, { error: { message: `fake model server bug: ${String(error)}` } });
        else res.destroy();
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    // Clients reset connections they give up on; that must not crash the test process.
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  // Stalled and hanging requests must stay open for as long as the test wants.
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  server.keepAliveTimeout = 1_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the fake model server has no TCP address');
  const port = address.port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    use(next) {
      scenario = next;
    },
    requests(provider) {
      return provider === undefined ? [...recorded] : recorded.filter((r) => r.provider === provider);
    },
    clearRequests() {
      recorded.length = 0;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
