import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { InputError, errorMessage } from '../platform/errors.js';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** Loopback unless asked otherwise: /metrics shows task ids and model names. */
const DEFAULT_METRICS_HOST = '127.0.0.1';

/**
 * `--metrics-port 9464` listens on 127.0.0.1; `--metrics-port 0.0.0.0:9464` (containers) or
 * `[::]:9464` on another address. Port 0 picks a free port.
 */
export function parseListenAddress(value: string, field = '--metrics-port'): ListenAddress {
  const match = /^(?:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):)?(\d{1,5})$/.exec(value.trim());
  const port = match ? Number(match[2]) : NaN;
  if (!match || port > 65_535) {
    throw new InputError([{ file: 'command line', field, message: `"${value}" is not a port or host:port (e.g. 9464 or 0.0.0.0:9464)` }]);
  }
  const host = match[1]?.replace(/^\[|\]$/g, '') ?? DEFAULT_METRICS_HOST;
  return { host, port };
}

export interface MetricsServerOptions {
  readonly registry: Registry;
  readonly address: ListenAddress;
  /** /readyz answers 200 while this holds (e.g. the bus is connected), 503 otherwise. */
  readonly ready?: () => boolean | Promise<boolean>;
  /** Names the flag in errors. */
  readonly field?: string;
}

export interface MetricsServer {
  readonly host: string;
  readonly port: number;
  /** e.g. http://127.0.0.1:9464 */
  readonly url: string;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, contentType: string, body: string, head: boolean): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
  res.end(head ? undefined : body);
}

/**
 * Serves Prometheus `/metrics`, liveness `/healthz` (the process answers) and readiness
 * `/readyz` (it can take work) on one port, for Prometheus, Docker HEALTHCHECK and k8s probes.
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { registry, address } = options;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) {
      res.setHeader('Allow', 'GET, HEAD');
      return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', false);
    }
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    switch (path) {
      case '/metrics':
        return send(res, 200, registry.contentType, await registry.metrics(), head);
      case '/healthz':
        return send(res, 200, 'application/json', '{"status":"ok"}\n', head);
      case '/readyz': {
        const ready = options.ready ? await options.ready() : true;
        return send(res, ready ? 200 : 503, 'application/json', ready ? '{"status":"ready"}\n' : '{"status":"not ready"}\n', head);
      }
      default:
        return send(res, 404, 'text/plain; charset=utf-8', 'not found: try /metrics, /healthz or /readyz\n', head);
    }
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `${errorMessage(error)}\n`, false);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      const field = options.field ?? '--metrics-port';
      const where = `${address.host}:${address.port}`;
      const message =
        error.code === 'EADDRINUSE'
          ? `${where} is already in use; pick another port`
          : error.code === 'EACCES'
            ? `not allowed to listen on ${where}`
            : error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND'
              ? `${address.host} is not an address of this machine`
              : `cannot listen on ${where}: ${error.message}`;
      reject(new InputError([{ file: 'command line', field, message }]));
    };
    server.once('error', onError);
    server.listen(address.port, address.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const urlHost = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return {
    host: bound.address,
    port: bound.port,
    url: `http://${urlHost}:${bound.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Prometheus keeps its scrape connection alive; without this close() would wait for it.
        server.closeAllConnections();
      }),
  };
}
