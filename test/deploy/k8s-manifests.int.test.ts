import { execFile } from 'node:child_process';
import { readFile, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Service } from 'kubernetes-models/v1/Service';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const root = fileURLToPath(new URL('../..', import.meta.url));
const k8sDir = join(root, 'deploy', 'k8s');
const run = promisify(execFile);

interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly spec?: Record<string, unknown>;
  readonly data?: Record<string, string>;
}

/** The model class (runtime JSON-schema validation) and the TypeScript interface of each kind used. */
const kinds: Readonly<Record<string, { readonly validate: (m: Manifest) => void; readonly type: string; readonly module: string }>> = {
  'v1/Namespace': { validate: (m) => new Namespace(m).validate(), type: 'INamespace', module: 'kubernetes-models/v1/Namespace' },
  'v1/ConfigMap': { validate: (m) => new ConfigMap(m).validate(), type: 'IConfigMap', module: 'kubernetes-models/v1/ConfigMap' },
  'v1/PersistentVolumeClaim': {
    validate: (m) => new PersistentVolumeClaim(m).validate(),
    type: 'IPersistentVolumeClaim',
    module: 'kubernetes-models/v1/PersistentVolumeClaim',
  },
  'v1/Service': { validate: (m) => new Service(m).validate(), type: 'IService', module: 'kubernetes-models/v1/Service' },
  'apps/v1/Deployment': { validate: (m) => new Deployment(m as never).validate(), type: 'IDeployment', module: 'kubernetes-models/apps/v1/Deployment' },
  'apps/v1/StatefulSet': { validate: (m) => new StatefulSet(m as never).validate(), type: 'IStatefulSet', module: 'kubernetes-models/apps/v1/StatefulSet' },
};

async function manifests(files?: readonly string[]): Promise<{ file: string; manifest: Manifest }[]> {
  const kustomization = parseAllDocuments(await readFile(join(k8sDir, 'kustomization.yaml'), 'utf8'))[0]?.toJS() as { resources: string[] };
  const out: { file: string; manifest: Manifest }[] = [];
  for (const file of files ?? kustomization.resources) {
    for (const doc of parseAllDocuments(await readFile(join(k8sDir, file), 'utf8'))) {
      expect(doc.errors, file).toEqual([]);
      const manifest = doc.toJS() as Manifest | null;
      if (manifest) out.push({ file, manifest });
    }
  }
  return out;
}

/** As TypeScript object literals, `satisfies` the API type reports unknown and misspelt fields too. */
function typeSource(items: readonly Manifest[]): string {
  const used = [...new Set(items.map((m) => `${m.apiVersion}/${m.kind}`))].map((k) => kinds[k]).filter((k) => k !== undefined);
  return [
    ...used.map((k) => `import type { ${k.type} } from '${k.module}';`),
    ...items.map((m, i) => `export const m${i} = ${JSON.stringify(m)} satisfies ${kinds[`${m.apiVersion}/${m.kind}`]?.type ?? 'never'};`),
    '',
  ].join('\n');
}

async function typeCheck(dir: string, files: Record<string, string>): Promise<string> {
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  const tsconfig = {
    compilerOptions: { target: 'ES2023', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: [] },
    files: Object.keys(files),
  };
  await writeFile(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
  return run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir, 'tsconfig.json')], { cwd: dir, timeout: 60_000 }).then(
    () => '',
    (error: Error & { stdout?: string }) => error.stdout ?? error.message,
  );
}

describe('deploy/k8s manifests', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('are valid against the Kubernetes API schemas (kubernetes-models), all in the tandem namespace', async () => {
    const all = await manifests();
    expect(all.map(({ manifest: m }) => `${m.kind}/${m.metadata.name}`)).toEqual([
      'Namespace/tandem',
      'ConfigMap/tandem-config',
      'ConfigMap/tandem-env',
      'PersistentVolumeClaim/tandem-work',
      'ConfigMap/nats-config',
      'Service/nats',
      'StatefulSet/nats',
      'Deployment/tandem-supervisor',
      'Deployment/tandem-planner',
      'Deployment/tandem-plan-reviewer',
      'Deployment/tandem-implementer',
      'Deployment/tandem-code-reviewer',
      'Deployment/tandem-quality-gate',
      'Deployment/tandem-watcher',
      'Deployment/tandem-bot',
    ]);
    for (const { file, manifest } of all) {
      const kind = kinds[`${manifest.apiVersion}/${manifest.kind}`];
      expect(kind, `${file}: ${manifest.apiVersion} ${manifest.kind}`).toBeDefined();
      expect(() => kind?.validate(manifest), `${file}: ${manifest.kind}/${manifest.metadata.name}`).not.toThrow();
      if (manifest.kind !== 'Namespace') expect(manifest.metadata.namespace, `${manifest.kind}/${manifest.metadata.name}`).toBe('tandem');
    }
    // The validator itself rejects a wrong type, so a passing run means something.
    expect(() => new Deployment({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { replicas: 'two' } } as never).validate()).toThrow(
      /replicas must be integer/,
    );
  });

  it('give each role a Deployment serving the role, probed on /readyz and /healthz of its metrics port', async () => {
    const deployments = (await manifests())
      .map((x) => x.manifest)
      .filter((m) => m.kind === 'Deployment' && !['tandem-watcher', 'tandem-bot'].includes(m.metadata.name));
    const containers = deployments.map((d) => {
      const spec = new Deployment(d as never).spec;
      const container = spec?.template.spec?.containers[0];
      return { name: d.metadata.name, replicas: spec?.replicas, container };
    });
    expect(containers.map((c) => c.container?.args?.slice(0, 2).join(' '))).toEqual([
      'serve supervisor',
      'serve planner',
      'serve plan-reviewer',
      'serve implementer',
      'serve code-reviewer',
      'serve quality-gate',
    ]);
    for (const { name, container, replicas } of containers) {
      expect(replicas, name).toBeGreaterThanOrEqual(1);
      expect(container?.args?.slice(2), name).toEqual([
        '--nats',
        '$(TANDEM_NATS_URL)',
        '--metrics-port',
        '0.0.0.0:9464',
        '--config',
        '/etc/tandem/tandem.config.yaml',
      ]);
      expect(container?.ports, name).toEqual([{ name: 'metrics', containerPort: 9464 }]);
      expect(container?.readinessProbe?.httpGet, name).toEqual({ path: '/readyz', port: 'metrics' });
      expect(container?.livenessProbe?.httpGet, name).toEqual({ path: '/healthz', port: 'metrics' });
      // Secrets by role: model keys only where a runner calls a model.
      const modelKeys = ['tandem-supervisor', 'tandem-quality-gate'].includes(name) ? [] : [{ secretRef: { name: 'tandem-model-keys', optional: true } }];
      expect(container?.envFrom, name).toEqual([
        { configMapRef: { name: 'tandem-env' } },
        ...modelKeys,
        { secretRef: { name: 'tandem-nats', optional: true } },
      ]);
    }
    const nats = (await manifests()).find((x) => x.manifest.kind === 'ConfigMap' && x.manifest.metadata.name === 'nats-config')?.manifest;
    expect(nats?.data?.['nats.conf']).toMatch(/jetstream \{[^}]*sync_interval: always/);
  });

  it('run the watcher and the bot over NATS without model keys, and ship an optional Ollama for their summaries', async () => {
    const byName = new Map((await manifests()).map(({ manifest }) => [manifest.metadata.name, manifest]));
    const people = ['tandem-watcher', 'tandem-bot'].map((name) => {
      const spec = new Deployment(byName.get(name) as never).spec;
      return { name, replicas: spec?.replicas, container: spec?.template.spec?.containers[0] };
    });
    expect(people.map((p) => p.container?.args?.slice(0, 2))).toEqual([
      ['watch', '/work/inbox'],
      ['bot', '--nats'],
    ]);
    // One watcher under a fixed id; the bot stays off until its secret exists.
    expect(people.map((p) => p.replicas)).toEqual([1, 0]);
    for (const { name, container } of people) {
      expect(container?.args, name).toEqual(
        expect.arrayContaining(['--nats', '$(TANDEM_NATS_URL)', '--id', name, '--ollama-host', 'http://ollama.tandem.svc:11434']),
      );
      const secrets = (container?.envFrom ?? []).map((e) => e.secretRef?.name).filter((n) => n !== undefined);
      expect(secrets, name).toEqual(name === 'tandem-bot' ? ['tandem-telegram', 'tandem-nats'] : ['tandem-nats']);
    }
    // The optional manifest is valid too, and its Service is what the people tools point at.
    const optional = await manifests(['optional/ollama.yaml']);
    expect(optional.map(({ manifest: m }) => `${m.kind}/${m.metadata.name}`)).toEqual([
      'PersistentVolumeClaim/ollama-models',
      'Service/ollama',
      'Deployment/ollama',
    ]);
    for (const { file, manifest } of optional) {
      expect(() => kinds[`${manifest.apiVersion}/${manifest.kind}`]?.validate(manifest), `${file}: ${manifest.metadata.name}`).not.toThrow();
      expect(manifest.metadata.namespace).toBe('tandem');
    }
    expect(new Service(optional[1]?.manifest as never).spec?.ports?.[0]?.port).toBe(11434);
  });

  it('type-check against the Kubernetes API types, which catch a misspelt field the schema validation lets through', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tandem-k8s-types-'));
    dirs.push(dir);
    await symlink(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
    await writeFile(join(dir, 'package.json'), '{"type":"module"}');
    const all = (await manifests()).map((x) => x.manifest);
    const supervisor = structuredClone(all.find((m) => m.metadata.name === 'tandem-supervisor')) as {
      spec: { template: { spec: { containers: Record<string, unknown>[] } } };
    } & Manifest;
    const container = supervisor.spec.template.spec.containers[0];
    if (!container) throw new Error('the supervisor has no container');
    container['imagee'] = container['image'];
    expect(() => new Deployment(supervisor as never).validate()).not.toThrow();

    const output = await typeCheck(dir, { 'shipped.ts': typeSource(all), 'broken.ts': typeSource([supervisor]) });

    expect(output.split('\n').filter((l) => l.startsWith('shipped.ts'))).toEqual([]);
    expect(output).toMatch(/broken\.ts\(\d+,\d+\): error TS2353: Object literal may only specify known properties, and '"imagee"' does not exist/);
  }, 60_000);
});
