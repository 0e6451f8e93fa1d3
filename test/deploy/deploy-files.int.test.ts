import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('../..', import.meta.url));
const deployDir = join(root, 'deploy');

interface Ran {
  readonly code: number;
  readonly output: string;
}

/** Runs a Debian tool the CI installs (.ci/apt-packages); a missing one fails with its package name. */
function tool(command: string, args: readonly string[], options: { cwd?: string; pkg: string }): Promise<Ran> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { cwd: options.cwd ?? root, timeout: 30_000, env: { ...process.env, COMPOSE_INTERACTIVE_NO_CLI: '1' } },
      (error, stdout, stderr) => {
        if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(new Error(`${command} is missing: install the Debian package "${options.pkg}" (see .ci/apt-packages)`));
          return;
        }
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, output: `${stdout}${stderr}` });
      },
    );
  });
}

interface ComposeService {
  readonly image?: string;
  readonly command?: string[];
  readonly ports?: (string | { host_ip?: string; published?: string | number })[];
  readonly volumes?: (string | { source?: string; target?: string })[];
  readonly deploy?: { replicas?: number };
  readonly environment?: Record<string, string>;
  readonly profiles?: string[];
}

describe('deploy/ files', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });
  const scratch = async (): Promise<string> => {
    const dir = await mkdtemp(join(tmpdir(), 'tandem-deploy-'));
    dirs.push(dir);
    return dir;
  };

  it('docker-compose.yml passes `docker-compose config`, and a broken copy does not', async () => {
    const ok = await tool('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], { cwd: deployDir, pkg: 'docker-compose' });
    expect(ok.output).toBe('');
    expect(ok.code).toBe(0);

    const dir = await scratch();
    const text = await readFile(join(deployDir, 'docker-compose.yml'), 'utf8');
    await writeFile(
      join(dir, 'docker-compose.yml'),
      text.replace('      - jaeger\n    restart: unless-stopped\n\n  jaeger:', '      - tempo\n    restart: unless-stopped\n\n  jaeger:'),
    );
    const broken = await tool('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], { cwd: dir, pkg: 'docker-compose' });
    expect(broken.code).not.toBe(0);
    expect(broken.output).toMatch(/depends on service 'tempo' which is undefined/);
  });

  it('runs NATS, the supervisor and every role with replicas, Prometheus, Grafana with provisioning, the collector and Jaeger', async () => {
    const normalized = await tool('docker-compose', ['-f', 'docker-compose.yml', 'config'], { cwd: deployDir, pkg: 'docker-compose' });
    expect(normalized.code).toBe(0);
    const { services } = parse(normalized.output) as { services: Record<string, ComposeService> };
    expect(Object.keys(services).sort()).toEqual(
      [
        'bot',
        'cli',
        'code-reviewer',
        'grafana',
        'implementer',
        'jaeger',
        'nats',
        'ollama',
        'otel-collector',
        'plan-reviewer',
        'planner',
        'prometheus',
        'quality-gate',
        'supervisor',
        'watcher',
      ].sort(),
    );
    const roles = ['supervisor', 'planner', 'plan-reviewer', 'implementer', 'code-reviewer', 'quality-gate'];
    for (const role of roles) {
      const service = services[role];
      expect(service?.image, role).toBe('tandem:local');
      expect(service?.command, role).toEqual(['serve', role, '--nats', 'nats://nats:4222', '--metrics-port', '0.0.0.0:9464']);
      expect(service?.deploy?.replicas, role).toBeGreaterThanOrEqual(1);
      expect(service?.environment?.['OTEL_EXPORTER_OTLP_ENDPOINT'], role).toBe('http://otel-collector:4318');
      expect(service?.environment?.['OTEL_SERVICE_NAME'], role).toBe(`tandem-${role}`);
      expect(service?.ports, `${role} publishes nothing; Prometheus scrapes it inside the network`).toBeUndefined();
    }
    expect(services['implementer']?.deploy?.replicas).toBe(3);
    expect(services['cli']?.profiles).toEqual(['tools']);
    // The people tools over NATS, each in its own profile; they run no model, so they get no model key.
    expect(services['watcher']?.command).toEqual([
      'watch',
      '/work/inbox',
      '--nats',
      'nats://nats:4222',
      '--id',
      'watcher',
      '--repo',
      '/work/repo',
      '--ollama-host',
      'http://ollama:11434',
    ]);
    expect(services['bot']?.command?.slice(0, 5)).toEqual(['bot', '--nats', 'nats://nats:4222', '--id', 'bot']);
    expect(Object.keys(services['bot']?.environment ?? {})).toEqual(expect.arrayContaining(['TELEGRAM_BOT_TOKEN', 'TANDEM_TELEGRAM_ALLOW']));
    expect({ watcher: services['watcher']?.profiles, bot: services['bot']?.profiles, ollama: services['ollama']?.profiles }).toEqual({
      watcher: ['watch'],
      bot: ['bot'],
      ollama: ['mediator'],
    });
    for (const name of ['watcher', 'bot', 'supervisor', 'quality-gate']) {
      expect(
        Object.keys(services[name]?.environment ?? {}).filter((k) => /API_KEY/.test(k)),
        name,
      ).toEqual([]);
    }
    expect(services['ollama']?.image).toMatch(/^ollama\/ollama:\d/);

    const mounts = (name: string) =>
      (services[name]?.volumes ?? []).map((v) => (typeof v === 'string' ? v.replace(/:(ro|rw)$/, '') : `${v.source ?? ''}:${v.target ?? ''}`));
    expect(mounts('nats')).toContain(`${deployDir}/nats.conf:/etc/nats/nats.conf`);
    expect(mounts('prometheus')).toContain(`${deployDir}/prometheus.yml:/etc/prometheus/prometheus.yml`);
    expect(mounts('otel-collector')).toContain(`${deployDir}/otel-collector.yaml:/etc/otelcol/config.yaml`);
    expect(mounts('grafana')).toEqual(
      expect.arrayContaining([`${root}grafana/provisioning:/etc/grafana/provisioning`, `${root}grafana/dashboards:/var/lib/grafana/dashboards/tandem`]),
    );
    // Whatever is published to the host is on loopback only.
    for (const [name, service] of Object.entries(services)) {
      for (const port of service.ports ?? []) expect(typeof port === 'string' ? port : port.host_ip, name).toMatch(/^127\.0\.0\.1/);
    }
  });

  it('Grafana provisioning points at the compose services and the folder the dashboards are mounted in', async () => {
    const datasources = parse(await readFile(join(root, 'grafana', 'provisioning', 'datasources', 'tandem.yaml'), 'utf8')) as {
      datasources: { uid: string; url: string }[];
    };
    expect(datasources.datasources.map((d) => `${d.uid} ${d.url}`)).toEqual(['prometheus http://prometheus:9090', 'jaeger http://jaeger:16686']);
    const providers = parse(await readFile(join(root, 'grafana', 'provisioning', 'dashboards', 'tandem.yaml'), 'utf8')) as {
      providers: { options: { path: string } }[];
    };
    expect(providers.providers.map((p) => p.options.path)).toEqual(['/var/lib/grafana/dashboards/tandem']);
  });

  it('prometheus.yml passes `promtool check config`, and a broken copy does not', async () => {
    const ok = await tool('promtool', ['check', 'config', join(deployDir, 'prometheus.yml')], { pkg: 'prometheus' });
    expect(ok.output).toMatch(/SUCCESS/);
    expect(ok.code).toBe(0);
    const dir = await scratch();
    const text = await readFile(join(deployDir, 'prometheus.yml'), 'utf8');
    await writeFile(join(dir, 'prometheus.yml'), text.replace('type: A', 'type: AAAA_OR_A'));
    const broken = await tool('promtool', ['check', 'config', join(dir, 'prometheus.yml')], { pkg: 'prometheus' });
    expect(broken.code).not.toBe(0);
    expect(broken.output).toMatch(/invalid DNS-SD records type/);
  });

  it('nats.conf runs JetStream with sync_interval: always, and nats-server accepts the rest of it', async () => {
    const text = await readFile(join(deployDir, 'nats.conf'), 'utf8');
    expect(text).toMatch(/^jetstream \{[^}]*^ {2}sync_interval: always$/ms);
    // Debian's nats-server is 2.9, which predates sync_interval (2.10); the image runs 2.12.
    const dir = await scratch();
    await writeFile(join(dir, 'nats.conf'), text.replace(/^ {2}sync_interval: always$/m, ''));
    const checked = await tool('nats-server', ['-c', join(dir, 'nats.conf'), '-t'], { pkg: 'nats-server' });
    expect(checked.output).toMatch(/is valid/);
    expect(checked.code).toBe(0);
    await writeFile(join(dir, 'typo.conf'), text.replace('max_payload', 'max_paylaod'));
    expect((await tool('nats-server', ['-c', join(dir, 'typo.conf'), '-t'], { pkg: 'nats-server' })).code).not.toBe(0);
  });

  it('otel-collector.yaml wires OTLP/HTTP on 4318 through to Jaeger, using only components it defines', async () => {
    const config = parse(await readFile(join(deployDir, 'otel-collector.yaml'), 'utf8')) as {
      receivers: Record<string, { protocols: { http: { endpoint: string } } }>;
      processors: Record<string, unknown>;
      exporters: Record<string, { endpoint: string }>;
      extensions: Record<string, unknown>;
      service: { extensions: string[]; pipelines: Record<string, { receivers: string[]; processors: string[]; exporters: string[] }> };
    };
    expect(config.receivers['otlp']?.protocols.http.endpoint).toBe('0.0.0.0:4318');
    expect(config.exporters['otlp/jaeger']?.endpoint).toBe('jaeger:4317');
    expect(Object.keys(config.service.pipelines)).toEqual(['traces']);
    for (const pipeline of Object.values(config.service.pipelines)) {
      for (const r of pipeline.receivers) expect(config.receivers, r).toHaveProperty([r]);
      for (const p of pipeline.processors) expect(config.processors, p).toHaveProperty([p]);
      for (const e of pipeline.exporters) expect(config.exporters, e).toHaveProperty([e]);
    }
    for (const e of config.service.extensions) expect(config.extensions, e).toHaveProperty([e]);
  });
});
