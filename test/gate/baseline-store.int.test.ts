import { mkdtemp, readdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GateCheckConfig } from '../../src/gate/gate-options.js';
import { baselineKey, createBaselineStore, type BaselineEntry } from '../../src/gate/baseline-store.js';

let dir: string;
beforeEach(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'tandem-baselines-')));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha = 'a'.repeat(40);
const lint: GateCheckConfig = { name: 'lint', kind: 'lint', parser: 'flake8', command: 'flake8 .', timeout_ms: 1000 };
const types: GateCheckConfig = { name: 'types', kind: 'types', parser: 'mypy', command: 'mypy .', timeout_ms: 1000 };
const entry = (check: GateCheckConfig, warnings = 1): BaselineEntry => ({
  key: baselineKey(check),
  exit_code: 1,
  output: { warnings: Array.from({ length: warnings }, (_, i) => ({ rule: 'W', file: 'a.py', line: i + 1, message: 'm', severity: 'warning' as const })) },
});

describe('createBaselineStore', () => {
  it('measures each check once per commit, keeps the result on disk for the next store, and measures only what is missing', async () => {
    const measured: string[][] = [];
    const measure = (checks: readonly GateCheckConfig[]) => {
      measured.push(checks.map((c) => c.name));
      return Promise.resolve(new Map(checks.map((c) => [c.name, entry(c)])));
    };
    const first = await createBaselineStore({ dir }).get(sha, [lint], measure);
    const second = await createBaselineStore({ dir }).get(sha, [lint, types], measure);

    expect(measured).toEqual([['lint'], ['types']]);
    expect([...first.keys()]).toEqual(['lint']);
    expect(second.get('lint')).toEqual(entry(lint));
    expect(await readdir(dir)).toEqual([`${sha}.json`]);
    expect(Object.keys((JSON.parse(await readFile(join(dir, `${sha}.json`), 'utf8')) as { checks: object }).checks)).toEqual(['lint', 'types']);
  });

  it('measures again when the check’s command changed or the cache file is corrupt, and once for concurrent callers', async () => {
    let calls = 0;
    const measure = async (checks: readonly GateCheckConfig[]) => {
      calls++;
      await new Promise((resolve) => setTimeout(resolve, 20));
      return new Map(checks.map((c) => [c.name, entry(c)]));
    };
    const store = createBaselineStore({ dir });
    await Promise.all([store.get(sha, [lint], measure), store.get(sha, [lint], measure), store.get(sha, [lint], measure)]);
    expect(calls).toBe(1);
    await store.get(sha, [{ ...lint, command: 'flake8 --max-line-length 100 .' }], measure);
    expect(calls).toBe(2);
    await writeFile(join(dir, `${sha}.json`), '{ not json');
    await createBaselineStore({ dir }).get(sha, [lint], measure);
    expect(calls).toBe(3);
  });

  it('does not cache what the measurement left out (a timeout)', async () => {
    let calls = 0;
    const store = createBaselineStore();
    const measure = () => {
      calls++;
      return Promise.resolve(new Map<string, BaselineEntry>());
    };
    expect((await store.get(sha, [lint], measure)).size).toBe(0);
    await store.get(sha, [lint], measure);
    expect(calls).toBe(2);
  });

  it('never caches an empty or failed measurement: no `{"checks":{}}` file, no entry with an error, and ignores one left by an older version', async () => {
    const failed: BaselineEntry = { key: baselineKey(lint), exit_code: 127, error: 'the check could not run on the base: sh: 1: flake8: not found' };
    let calls = 0;
    const measure = (checks: readonly GateCheckConfig[]) => {
      calls++;
      return Promise.resolve(new Map(checks.map((c) => [c.name, failed])));
    };
    const store = createBaselineStore({ dir });
    // This run sees why the base could not be measured...
    expect((await store.get(sha, [lint], measure)).get('lint')).toEqual(failed);
    // ...but nothing is written, so the next run measures again.
    expect(await readdir(dir)).toEqual([]);
    await store.get(sha, [lint], () => Promise.resolve(new Map<string, BaselineEntry>()));
    expect(await readdir(dir)).toEqual([]);
    await writeFile(join(dir, `${sha}.json`), JSON.stringify({ commit: sha, checks: { lint: failed } }));
    await createBaselineStore({ dir }).get(sha, [lint], measure);
    expect(calls).toBe(2);
  });
});
