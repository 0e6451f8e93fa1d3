import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { metricDefinitions } from '../../src/telemetry/metrics.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

/** promtool (Debian package "prometheus"); its output whatever the exit code. */
async function promtool(args: readonly string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run('promtool', args, { cwd: root, timeout: 60_000 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { code?: number | string; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new Error('promtool is missing: install the Debian package "prometheus" (see .ci/apt-packages)', { cause: error });
    return { code: typeof e.code === 'number' ? e.code : 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('deploy/alerts.yml', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('passes `promtool check rules` and its unit tests (`promtool test rules`)', async () => {
    const check = await promtool(['check', 'rules', 'deploy/alerts.yml']);
    expect(check, check.output).toMatchObject({ code: 0 });
    expect(check.output).toContain('SUCCESS: 6 rules found');
    const tested = await promtool(['test', 'rules', 'test/deploy/alerts.test.yml']);
    expect(tested, tested.output).toMatchObject({ code: 0 });
  });

  it('fails its unit tests when a threshold changes, so the tests do test the rules', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tandem-alerts-'));
    dirs.push(dir);
    const rules = await readFile(join(root, 'deploy', 'alerts.yml'), 'utf8');
    await writeFile(join(dir, 'alerts.yml'), rules.replace('* 24 > 50', '* 24 > 500'));
    const tests = await readFile(join(root, 'test', 'deploy', 'alerts.test.yml'), 'utf8');
    await writeFile(join(dir, 'alerts.test.yml'), tests.replace('../../deploy/alerts.yml', 'alerts.yml'));
    const tested = await promtool(['test', 'rules', join(dir, 'alerts.test.yml')]);
    expect(tested.code).not.toBe(0);
    expect(tested.output).toContain('TandemBudgetBurn');
  });

  it("only uses metrics tandem exports (or Prometheus's own up)", async () => {
    const rules = await readFile(join(root, 'deploy', 'alerts.yml'), 'utf8');
    const known = new Set<string>([...Object.values(metricDefinitions).map((d) => d.name), 'up']);
    const used = [...rules.matchAll(/\b(orchestrator_\w+|up)(?=[{[])/g)].map((m) => m[1] ?? '');
    expect(used.length).toBeGreaterThan(5);
    expect(used.filter((name) => !known.has(name))).toEqual([]);
  });
});
