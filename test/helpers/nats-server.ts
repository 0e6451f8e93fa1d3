import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** The Debian package's binary (.ci/apt-packages installs it); NATS_SERVER_BIN overrides it. */
const natsServerBin = process.env.NATS_SERVER_BIN ?? 'nats-server';

const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const OPENSSL_TIMEOUT_MS = 20_000;

export interface NatsServerOptions {
  /** Clients must log in with this user and password. */
  readonly auth?: { readonly user: string; readonly password: string } | { readonly token: string };
  /** Serve TLS only, with a certificate the helper makes (see `tls` on the result). */
  readonly tls?: {
    /** Also require a client certificate signed by the same CA. */
    readonly verifyClients?: boolean;
  };
}

interface TlsFiles {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  /** A client certificate and key signed by `ca`. */
  readonly clientCert: string;
  readonly clientKey: string;
  /** A CA that signed nothing this server knows: a client trusting only it must refuse the server. */
  readonly otherCa: string;
}

export interface NatsServer {
  /** `nats://127.0.0.1:<port>`, or `tls://…` when TLS is on. */
  readonly url: string;
  readonly port: number;
  /** The temporary folder with the JetStream store, the config and the TLS files. */
  readonly dir: string;
  readonly tls: TlsFiles | undefined;
  /** The server's log so far (stderr), for failure messages. */
  log(): string;
  /** Stops the server (SIGTERM, then SIGKILL); its JetStream store stays for `start`. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same store. */
  start(): Promise<void>;
  /** Stops it for good and removes its folder. */
  cleanup(): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** A crashed test must not leave servers behind: kill every group still running when the worker exits. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) killGroup(child, 'SIGKILL');
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * A real nats-server of its own for one test file: bound to 127.0.0.1 on a port the server picks
 * (no race with other tests for a "free" port), JetStream in a temp folder, optional auth and TLS.
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  installExitHook();
  const dir = await mkdtemp(join(tmpdir(), 'tandem-nats-'));
  try {
    const tls = options.tls ? await makeTlsFiles(dir) : undefined;
    let port = 0;
    let child: ChildProcess | undefined;
    let log = '';

    const launch = async (): Promise<void> => {
      const config = serverConfig({ port: port === 0 ? -1 : port, storeDir: join(dir, 'jetstream'), options, tls });
      const configFile = join(dir, 'nats.conf');
      await writeFile(configFile, config);
      log = '';
      const started = spawn(natsServerBin, ['-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
      child = started;
      live.add(started);
      started.on('exit', () => live.delete(started));
      port = await waitUntilReady(started, (chunk) => (log += chunk));
    };

    await launch();
    const scheme = tls ? 'tls' : 'nats';
    const stop = async (): Promise<void> => {
      const running = child;
      child = undefined;
      if (running) await stopProcess(running);
    };
    return {
      url: `${scheme}://127.0.0.1:${port}`,
      port,
      dir,
      tls,
      log: () => log,
      stop,
      async start(): Promise<void> {
        if (child) throw new Error('nats-server is already running');
        await launch();
      },
      async cleanup(): Promise<void> {
        await stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

function serverConfig(input: { port: number; storeDir: string; options: NatsServerOptions; tls: TlsFiles | undefined }): string {
  const lines = [`listen: "127.0.0.1:${input.port}"`, `jetstream { store_dir: ${JSON.stringify(input.storeDir)} }`];
  const auth = input.options.auth;
  if (auth && 'token' in auth) lines.push(`authorization { token: ${JSON.stringify(auth.token)} }`);
  else if (auth) lines.push(`authorization { user: ${JSON.stringify(auth.user)}, password: ${JSON.stringify(auth.password)} }`);
  if (input.tls) {
    const verify = input.options.tls?.verifyClients === true;
    lines.push(
      `tls { cert_file: ${JSON.stringify(input.tls.cert)}, key_file: ${JSON.stringify(input.tls.key)}, ca_file: ${JSON.stringify(input.tls.ca)}, verify: ${verify}, timeout: 2 }`,
    );
  }
  return `${lines.join('\n')}\n`;
}

const LISTENING = /Listening for client connections on [^\s]+:(\d+)/;
const READY = /Server is ready/;

/** Resolves with the client port once the server logs that it is ready; rejects if it exits first. */
function waitUntilReady(child: ChildProcess, onLog: (chunk: string) => void): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let out = '';
    let port: number | undefined;
    const timer = setTimeout(() => {
      killGroup(child, 'SIGKILL');
      reject(new Error(`nats-server was not ready within ${READY_TIMEOUT_MS} ms:\n${out}`));
    }, READY_TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${natsServerBin} (install the Debian package nats-server): ${error.message}`));
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited (${code ?? signal}) before it was ready:\n${out}`));
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      out += chunk;
      onLog(chunk);
      const listening = LISTENING.exec(out);
      if (listening?.[1]) port = Number(listening[1]);
      if (port !== undefined && READY.test(out)) {
        clearTimeout(timer);
        resolve(port);
      }
    });
  });
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  killGroup(child, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), STOP_TIMEOUT_MS)));
  const late = await Promise.race([exited.then(() => false), timedOut]);
  clearTimeout(timer);
  if (late) {
    killGroup(child, 'SIGKILL');
    await exited;
  }
}

async function openssl(dir: string, args: readonly string[]): Promise<void> {
  try {
    await execFileAsync('openssl', args, { cwd: dir, timeout: OPENSSL_TIMEOUT_MS, killSignal: 'SIGKILL' });
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new Error(`openssl ${args.slice(0, 2).join(' ')} failed (install the Debian package openssl): ${detail}`, { cause: error });
  }
}

/** A throwaway CA, a server certificate for 127.0.0.1/localhost, and a client certificate, all by openssl. */
async function makeTlsFiles(dir: string): Promise<TlsFiles> {
  const file = (name: string): string => join(dir, name);
  const days = ['-days', '2'];
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(dir, ['req', '-x509', ...ec, '-keyout', file('ca-key.pem'), '-out', file('ca.pem'), ...days, '-subj', '/CN=tandem test CA']);
  await openssl(dir, ['req', '-x509', ...ec, '-keyout', file('other-ca-key.pem'), '-out', file('other-ca.pem'), ...days, '-subj', '/CN=tandem other CA']);
  await writeFile(file('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await writeFile(file('client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [name, cn] of [
    ['server', 'localhost'],
    ['client', 'tandem test client'],
  ] as const) {
    await openssl(dir, ['req', ...ec, '-keyout', file(`${name}-key.pem`), '-out', file(`${name}.csr`), '-subj', `/CN=${cn}`]);
    await openssl(dir, [
      'x509',
      '-req',
      '-in',
      file(`${name}.csr`),
      '-CA',
      file('ca.pem'),
      '-CAkey',
      file('ca-key.pem'),
      '-CAcreateserial',
      '-out',
      file(`${name}.pem`),
      ...days,
      '-extfile',
      file(`${name}.ext`),
    ]);
  }
  return {
    ca: file('ca.pem'),
    cert: file('server.pem'),
    key: file('server-key.pem'),
    clientCert: file('client.pem'),
    clientKey: file('client-key.pem'),
    otherCa: file('other-ca.pem'),
  };
}
