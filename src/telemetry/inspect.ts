import { createServer } from 'node:http';
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
  const page = bridgePage(options.inspectorUrl ?? 'https://stately.ai/inspect');
  const http = createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : page);
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', (error: NodeJS.ErrnoException) =>
      reject(new InputError([{ file: 'command line', field: '--inspect', message: `cannot listen on ${host}:${options.port ?? 0}: ${error.code ?? error.message}` }])),
    );
    http.listen(options.port ?? 0, host, () => resolve());
  });
  // Attached only once listening: a WebSocketServer re-emits its server's listen errors.
  const relay = new WebSocketServer({ server: http });
  const actors: string[] = [];
  const recent: string[] = [];
  const keep = (list: string[], message: string, limit: number): void => {
    list.push(message);
    if (list.length > limit) list.shift();
  };
  relay.on('connection', (socket) => {
    for (const message of [...actors, ...recent]) socket.send(message);
    socket.on('message', (data: Buffer) => {
      const message = data.toString();
      if (message.includes('"type":"@xstate.actor"')) keep(actors, message, REPLAY_ACTORS);
      else keep(recent, message, REPLAY_EVENTS);
      for (const client of relay.clients) if (client !== socket && client.readyState === WebSocket.OPEN) client.send(message);
    });
  });
  const bound = http.address() as AddressInfo;
  const hostPart = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  const websocketUrl = `ws://${hostPart}:${bound.port}`;
  // The inspector's own client is the first to connect; events sent before that would be queued
  // (and the oldest dropped), so the machines start only once it is there.
  const connected = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 5_000);
    relay.once('connection', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  const inspector = createWebSocketInspector({ url: websocketUrl });
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
