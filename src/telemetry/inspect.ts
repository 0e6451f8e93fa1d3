import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createWebSocketInspector } from '@statelyai/inspect';
import { WebSocket, WebSocketServer } from 'ws';
import type { InspectionEvent } from 'xstate';
import { InputError } from '../platform/errors.js';

export interface InspectorOptions {
  /** Loopback by default: the stream holds every task's prompts, plans and diffs. */
  readonly host?: string;
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  /** The inspector UI the page embeds. */
  readonly inspectorUrl?: string;
}

export interface Inspector {
  /** Open this in a browser. */
  readonly url: string;
  readonly websocketUrl: string;
  /** Pass as the runtime's `inspect` option. */
  readonly inspect: (event: InspectionEvent) => void;
  close(): Promise<void>;
}

/**
 * What a browser that opens the page late is sent first: the actors' definitions (without which it
 * shows nothing) and the most recent events.
 */
const REPLAY_ACTORS = 500;
const REPLAY_EVENTS = 1_000;

/** The Stately inspector's page: the only foreign origin a browser may connect to the relay from. */
const STATELY_ORIGIN = 'https://stately.ai';
const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/**
 * A browser always sends Origin: only this process's own page (loopback), the Stately inspector and
 * tools that are no browser (no Origin) may connect, so a web page open in the same browser cannot
 * read the stream of prompts and diffs.
 */
function allowedOrigin(origin: string | undefined, inspectorUrl: string): boolean {
  if (origin === undefined || origin === '') return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.origin === STATELY_ORIGIN || url.origin === new URL(inspectorUrl).origin) return true;
  return (url.protocol === 'http:' || url.protocol === 'https:') && LOOPBACK_NAMES.has(url.hostname);
}

/** A loopback server answers only to loopback host names: a DNS-rebound name reaches nothing. */
function allowedHost(req: IncomingMessage, boundHost: string): boolean {
  if (!LOOPBACK_NAMES.has(boundHost)) return true;
  const host = req.headers.host;
  if (host === undefined) return false;
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : (host.split(':')[0] ?? '');
  return LOOPBACK_NAMES.has(name);
}

/**
 * The page embeds the Stately inspector and forwards what this process's WebSocket relays to
 * it, like @statelyai/inspect's own server does; that server is not used because it listens on
 * every interface and starts a browser by itself.
 */
function bridgePage(inspectorUrl: string): string {
  const src = JSON.stringify(inspectorUrl);
  return `<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>tandem · XState inspector</title>
<style>* { margin: 0; padding: 0; } html, body { height: 100%; } iframe { width: 100%; height: 100%; border: none; }</style></head>
<body>
<iframe id="inspector"></iframe>
<script>
  const iframe = document.getElementById('inspector');
  iframe.src = ${src};
  const buffer = [];
  let connected = false;
  window.addEventListener('message', (e) => {
    if (e.data && e.data.type === '@statelyai.connected') {
      connected = true;
      for (const event of buffer.splice(0)) iframe.contentWindow.postMessage(event, '*');
    }
  });
  const ws = new WebSocket('ws://' + location.host);
  ws.onmessage = (message) => {
    const data = JSON.parse(message.data);
    if (connected) iframe.contentWindow.postMessage(data, '*');
    else buffer.push(data);
  };
</script>
</body>
</html>
`;
}

/**
 * Streams XState inspection events (`createActor(…, {inspect})`) to the Stately inspector
 * through `@statelyai/inspect`'s WebSocket inspector and a relay served on 127.0.0.1.
 */
export async function startInspector(options: InspectorOptions = {}): Promise<Inspector> {
  const host = options.host ?? '127.0.0.1';
  const inspectorUrl = options.inspectorUrl ?? 'https://stately.ai/inspect';
  const page = bridgePage(inspectorUrl);
  const http = createServer((req, res) => {
    if (!allowedHost(req, host)) {
      res.writeHead(403, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('forbidden host\n');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : page);
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new InputError([
          { file: 'command line', field: '--inspect', message: `cannot listen on ${host}:${options.port ?? 0}: ${error.code ?? error.message}` },
        ]),
      ),
    );
    http.listen(options.port ?? 0, host, () => resolve());
  });
  // Attached only once listening: a WebSocketServer re-emits its server's listen errors.
  // Only this process writes to the stream, through a path no one else knows; browsers only read.
  const producerPath = `/producer/${randomUUID()}`;
  const relay = new WebSocketServer({
    server: http,
    verifyClient: ({ origin, req }: { origin: string | undefined; req: IncomingMessage }) => allowedHost(req, host) && allowedOrigin(origin, inspectorUrl),
  });
  const actors: string[] = [];
  const recent: string[] = [];
  const keep = (list: string[], message: string, limit: number): void => {
    list.push(message);
    if (list.length > limit) list.shift();
  };
  let producerConnected: (() => void) | undefined;
  const producers = new Set<WebSocket>();
  relay.on('connection', (socket, req) => {
    if (req.url !== producerPath) {
      // A reader: gets the replay and what the producer sends; what it sends is dropped, never relayed.
      for (const message of [...actors, ...recent]) socket.send(message);
      return;
    }
    producers.add(socket);
    socket.on('close', () => producers.delete(socket));
    producerConnected?.();
    socket.on('message', (data: Buffer) => {
      const message = data.toString();
      if (message.includes('"type":"@xstate.actor"')) keep(actors, message, REPLAY_ACTORS);
      else keep(recent, message, REPLAY_EVENTS);
      for (const client of relay.clients) if (!producers.has(client) && client.readyState === WebSocket.OPEN) client.send(message);
    });
  });
  const bound = http.address() as AddressInfo;
  const hostPart = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  const websocketUrl = `ws://${hostPart}:${bound.port}`;
  // The inspector's own client is the first to connect; events sent before that would be queued
  // (and the oldest dropped), so the machines start only once it is there.
  const connected = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 5_000);
    producerConnected = () => {
      clearTimeout(timer);
      producerConnected = undefined;
      resolve(true);
    };
  });
  const inspector = createWebSocketInspector({ url: `${websocketUrl}${producerPath}` });
  await connected;
  return {
    url: `http://${hostPart}:${bound.port}`,
    websocketUrl,
    inspect: (event) => inspector.inspect.next?.(event),
    async close() {
      inspector.stop();
      for (const client of relay.clients) client.terminate();
      await new Promise<void>((resolve) => relay.close(() => resolve()));
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
    },
  };
}

/** What `--inspect` prints. */
export function inspectorBanner(inspector: Pick<Inspector, 'url'>): string {
  return `XState inspector: open ${inspector.url} in a browser (it embeds https://stately.ai/inspect and shows this process's machines live)\n`;
}
