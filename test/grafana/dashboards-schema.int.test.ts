import { execFile } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { dashboardFiles, panelsOf, readDashboard, templateVariables } from './dashboard-queries.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

/**
 * The dashboards are JSON, so they are checked as TypeScript object literals against
 * @grafana/schema's Dashboard type: `satisfies` keeps literal types and reports unknown keys,
 * which importing the JSON file would not (imports widen strings and skip excess-property checks).
 */
function checkSource(dashboards: Record<string, unknown>): string {
  return [
    "import type { Dashboard } from '@grafana/schema';",
    '/** What a JSON file can hold of T: a string enum as its values. */',
    'type JsonOf<T> = T extends string ? `${T}` : T extends readonly (infer U)[] ? JsonOf<U>[] : T extends object ? { [K in keyof T]: JsonOf<T[K]> } : T;',
    // __inputs and __requires are read by Grafana's import dialog; the schema does not describe them.
    ...Object.entries(dashboards).map(
      ([name, json]) =>
        `export const ${name} = ${JSON.stringify({ ...(json as object), __inputs: undefined, __requires: undefined })} satisfies JsonOf<Dashboard>;`,
    ),
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
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  return run(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { cwd: dir, timeout: 60_000 }).then(
    () => '',
    (error: Error & { stdout?: string }) => error.stdout ?? error.message,
  );
}

describe('Grafana dashboards', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });
  const dashboards = Object.fromEntries(
    dashboardFiles().map((f) => [f.replace(/\.json$/, '').replace(/-(\w)/g, (_, c: string) => c.toUpperCase()), readDashboard(f)]),
  );

  it('ships the four dashboards of the issue, each with a unique uid and unique panel ids', () => {
    expect(dashboardFiles()).toEqual(['model-performance.json', 'overview.json', 'quality.json', 'task-flow.json']);
    const all = Object.values(dashboards);
    expect(all.map((d) => d.title).sort()).toEqual(['tandem / Model Performance', 'tandem / Overview', 'tandem / Quality', 'tandem / Task Flow']);
    expect(new Set(all.map((d) => d.uid)).size).toBe(4);
    for (const d of all) {
      const ids = panelsOf(d).map((p) => p.id);
      expect(new Set(ids).size, d.title).toBe(ids.length);
    }
  });

  it('lays every panel out inside the 24-column grid without overlaps, each query on the provisioned Prometheus', () => {
    for (const d of Object.values(dashboards)) {
      const boxes = panelsOf(d).map((p) => ({ title: p.title ?? '', ...p.gridPos }));
      for (const b of boxes) expect(b.x + b.w, `${d.title} / ${b.title}`).toBeLessThanOrEqual(24);
      for (const [i, a] of boxes.entries()) {
        for (const b of boxes.slice(i + 1)) {
          const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
          expect(overlap, `${d.title}: "${a.title}" overlaps "${b.title}"`).toBe(false);
        }
      }
      for (const p of panelsOf(d)) {
        if (p.type === 'text' || p.type === 'row') continue;
        expect(p.targets?.length ?? 0, `${d.title} / ${p.title ?? ''}`).toBeGreaterThan(0);
        // No hard-coded data source: the $datasource variable picks one, so an imported dashboard works anywhere.
        for (const t of p.targets ?? []) expect(t.datasource?.uid).toBe('${datasource}');
      }
    }
  });

  it('import anywhere: a $datasource variable, __inputs for the import dialog, and the filters of the issue', () => {
    for (const d of Object.values(dashboards)) {
      expect(
        d.__inputs?.map((i) => `${i.type}:${i.pluginId}`),
        d.title,
      ).toEqual(['datasource:prometheus']);
      const variables = d.templating?.list ?? [];
      expect(
        variables.map((v) => v.name),
        d.title,
      ).toEqual(['datasource', ...templateVariables]);
      expect(variables[0]).toMatchObject({ type: 'datasource', query: 'prometheus' });
      for (const v of variables.slice(1)) expect(v, `${d.title} / ${v.name}`).toMatchObject({ type: 'query', allValue: '.*' });
      // Every orchestrator_* selector follows the instance picker.
      for (const p of panelsOf(d))
        for (const t of p.targets ?? [])
          for (const m of (t.expr ?? '').matchAll(/orchestrator_\w+(\{[^}]*\})?/g))
            expect(m[0], `${d.title} / ${p.title ?? ''}`).toContain('instance=~"$instance"');
    }
    expect(JSON.stringify(Object.values(dashboards))).not.toContain('"uid":"prometheus"');
  });

  it('type-check against @grafana/schema, and a broken dashboard does not', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tandem-grafana-schema-'));
    dirs.push(dir);
    await symlink(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
    await writeFile(join(dir, 'package.json'), '{"type":"module"}');
    const broken = structuredClone(dashboards['overview']) as unknown as { panels: { gridPos: Record<string, unknown>; datasoruce?: unknown }[] };
    const [first, second] = broken.panels;
    if (!first || !second) throw new Error('overview has fewer than two panels');
    first.gridPos['h'] = '8';
    second.datasoruce = { uid: 'prometheus' };

    const output = await typeCheck(dir, { 'shipped.ts': checkSource(dashboards), 'broken.ts': checkSource({ broken }) });

    expect(output.split('\n').filter((l) => l.startsWith('shipped.ts'))).toEqual([]);
    expect(output).toMatch(/broken\.ts\(\d+,\d+\): error TS2322: Type 'string' is not assignable to type 'number'/);
    expect(output).toMatch(/broken\.ts\(\d+,\d+\): error TS2353: Object literal may only specify known properties, and '"datasoruce"' does not exist/);
  }, 60_000);
});
