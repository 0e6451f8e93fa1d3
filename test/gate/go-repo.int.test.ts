import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GateConfigSchema } from '../../src/gate/gate-options.js';
import { createRatchetGate } from '../../src/gate/ratchet-gate.js';
import type { GateReport, QualityGate } from '../../src/model/gate-report.js';
import { createGitRepo, type GitRepo } from '../helpers/git-repo.js';
import { taskWorktree, writeFiles } from './fixture-repos.js';
import { goChecks, goProject } from './go-project.js';

/**
 * The ratchet end to end on a real Go module, with Debian's golang-go (CI installs it): go test with
 * its coverage profile, go vet and the package's API from go doc, each change made in its own task
 * worktree from the same base commit, whose baseline is measured once and then read from the cache.
 */

const hasGo = spawnSync('go', ['version'], { stdio: 'ignore' }).status === 0;

const calc = goProject['calc.go'] ?? '';
const calcTest = goProject['calc_test.go'] ?? '';
const legacy = goProject['legacy.go'] ?? '';

let repo: GitRepo;
let parent: string;
let checks: ReturnType<typeof goChecks>;
let gate: QualityGate;
let spawned = 0;

beforeAll(async () => {
  if (!hasGo) return;
  repo = await createGitRepo(goProject);
  parent = await realpath(await mkdtemp(join(tmpdir(), 'tandem-gate-go-')));
  // No network here: modules resolve offline only. One build cache for the base and every task, as a developer has.
  checks = goChecks(`GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local GOCACHE=${parent}/go/cache GOPATH=${parent}/go/path`);
  gate = createRatchetGate({
    settings: GateConfigSchema.parse({ checks }),
    baselineDir: join(parent, 'baselines'),
    scratchDir: join(parent, 'scratch'),
    onSpawn: () => spawned++,
  });
});

afterAll(async () => {
  if (!hasGo) return;
  const worktrees = await readdir(parent).catch(() => [] as string[]);
  for (const name of worktrees) await repo.git('worktree', 'remove', '--force', join(parent, name)).catch(() => undefined);
  await repo.cleanup();
  await rm(parent, { recursive: true, force: true });
});

async function gateChange(
  name: string,
  files: Readonly<Record<string, string | null>>,
  options: { allowBreaking?: boolean; gate?: QualityGate } = {},
): Promise<GateReport> {
  const dir = await taskWorktree(repo, parent, name);
  await writeFiles(dir, files);
  return (options.gate ?? gate).run({
    cwd: dir,
    taskId: name,
    stepId: 'S1',
    baseCommit: repo.head,
    signal: new AbortController().signal,
    allowBreaking: options.allowBreaking ?? false,
  });
}

/** The excerpt without its first line, which carries the command and its duration. */
function body(report: GateReport, check: string): string {
  return (report.checks.find((c) => c.name === check)?.excerpt ?? '').split('\n').slice(1).join('\n');
}

function verdicts(report: GateReport): [string, boolean][] {
  return report.checks.map((c) => [c.name, c.passed]);
}

describe.skipIf(!hasGo)('the ratchet on a Go module', () => {
  it('passes a clean change, measuring the base once; the base’s vet finding that moved down a line is not new', async () => {
    const report = await gateChange('clean', {
      'calc.go': `${calc}\n// Mul returns a * b.\nfunc Mul(a, b int) int {\n\treturn a * b\n}\n`,
      'calc_test.go': `${calcTest}\nfunc TestMul(t *testing.T) {\n\tif got := Mul(2, 3); got != 6 {\n\t\tt.Errorf("Mul(2, 3) = %d, want 6", got)\n\t}\n}\n`,
      'legacy.go': legacy.replace('package calc\n', 'package calc\n\n// Kept for old callers.\n'),
    });

    expect(report.passed).toBe(true);
    expect(report.summary).toBe('3/3 checks passed (SMALL change: 13 lines in 3 files)');
    expect(report.regressions).toEqual([]);
    expect(body(report, 'go-test')).toBe('7 passed, 0 failed, 0 skipped; line coverage 100.00% → 100.00%');
    expect(body(report, 'go-vet')).toBe('1 warning, none new');
    expect(body(report, 'go-api')).toBe('5 exports, none removed');
    // 3 checks in the base's worktree, 3 in the task's.
    expect(spawned).toBe(6);
    expect(await readdir(join(parent, 'baselines'))).toEqual([`${repo.head}.json`]);
    expect(await readdir(join(parent, 'scratch'))).toEqual([]);
  });

  it('fails a change that adds a go vet finding, naming it by file:line and analyzer', async () => {
    spawned = 0;
    const report = await gateChange('warning', { 'calc.go': calc.replace('\treturn a + b\n', '\ta = a\n\treturn a + b\n') });

    expect(verdicts(report)).toEqual([
      ['go-test', true],
      ['go-vet', false],
      ['go-api', true],
    ]);
    expect(report.summary).toBe('1 of 3 checks failed: go-vet (1 new warning) (SMALL change: 1 line in 1 file)');
    expect(body(report, 'go-vet')).toBe(
      ['1 new warning that the base does not have (base 1, now 2):', 'calc.go:6:2 assign self-assignment of a to a'].join('\n'),
    );
    expect(report.regressions).toEqual([{ type: 'warnings_new', check: 'go-vet', count: 1, items: ['calc.go:6:2 assign self-assignment of a to a'] }]);
    // The baseline came from the cache: only the task's own three checks ran.
    expect(spawned).toBe(3);
  });

  it('fails a change that drops line coverage, naming the uncovered lines', async () => {
    const report = await gateChange('coverage', {
      'calc.go': `${calc}\n// Div returns a / b; b must not be 0.\nfunc Div(a, b int) int {\n\tif b == 0 {\n\t\tpanic("division by zero")\n\t}\n\treturn a / b\n}\n`,
    });

    expect(verdicts(report)).toEqual([
      ['go-test', false],
      ['go-vet', true],
      ['go-api', true],
    ]);
    expect(report.summary).toBe('1 of 3 checks failed: go-test (line coverage 100.00% → 84.00%) (SMALL change: 8 lines in 1 file)');
    expect(body(report, 'go-test')).toBe(
      [
        'Line coverage dropped: 100.00% → 84.00% (−16.00 points; allowed: 0).',
        'Lines not covered by any test:',
        // go's block for the panic branch ends at the panic, so the closing brace (line 29) is no line to cover.
        '  example.com/calc/calc.go: 100.00% → 77.78%, uncovered lines 26-28, 30',
      ].join('\n'),
    );
    expect(report.regressions).toEqual([
      { type: 'coverage_drop', check: 'go-test', count: 1, items: ['line coverage 100.00% → 84.00% (−16.00 points, tolerance 0)'] },
    ]);
  });

  it('fails a change that breaks a test, with the subtest’s name and message; a re-run alone fails too, so it is not flaky', async () => {
    spawned = 0;
    const report = await gateChange('broken', { 'calc.go': calc.replace('\t\treturn low\n', '\t\treturn high\n') });

    expect(verdicts(report)).toEqual([
      ['go-test', false],
      ['go-vet', true],
      ['go-api', true],
    ]);
    expect(report.summary).toBe('1 of 3 checks failed: go-test (1 failing test) (SMALL change: 2 lines in 1 file)');
    expect(body(report, 'go-test')).toBe(
      ['1 failing test:', '✗ example.com/calc TestClamp/below', '    calc_test.go:30: Clamp(-1, 0, 10) = 10, want 0', '(line coverage 100.00% → 100.00%)'].join(
        '\n',
      ),
    );
    expect(report.regressions).toEqual([{ type: 'tests_failed', check: 'go-test', count: 1, items: ['example.com/calc TestClamp/below'] }]);
    expect(report.flaky).toEqual([]);
    // Three checks and one re-run of the failing subtest.
    expect(spawned).toBe(4);
  });

  it('fails a change that renames an exported function, and passes it when the task may break the API', async () => {
    const rename = {
      'calc.go': calc.replace('// Sub returns a - b.\nfunc Sub(', '// Subtract returns a - b.\nfunc Subtract('),
      'calc_test.go': calcTest.replace('got := Sub(5, 3)', 'got := Subtract(5, 3)'),
    };
    const report = await gateChange('export', rename);

    expect(verdicts(report)).toEqual([
      ['go-test', true],
      ['go-vet', true],
      ['go-api', false],
    ]);
    expect(report.summary).toBe('1 of 3 checks failed: go-api (1 export removed) (SMALL change: 6 lines in 2 files)');
    expect(body(report, 'go-api')).toBe(
      [
        'The public API lost 1 export that the base has (a breaking change; only a task allowed to break the API may do this):',
        '  example.com/calc: Sub (func)',
      ].join('\n'),
    );
    expect(report.regressions).toEqual([{ type: 'api_breaking', check: 'go-api', count: 1, items: ['example.com/calc: Sub (func)'] }]);

    const apiOnly = createRatchetGate({
      settings: GateConfigSchema.parse({ checks: checks.filter((c) => c.name === 'go-api') }),
      baselineDir: join(parent, 'baselines'),
    });
    const allowed = await gateChange('export-allowed', rename, { allowBreaking: true, gate: apiOnly });
    expect(allowed.passed).toBe(true);
    expect(body(allowed, 'go-api')).toBe('4 exports; 1 export removed, allowed for this task: example.com/calc: Sub (func)');
  });

  it('scopes the API to the module’s library packages: internal and main packages may change, an exported name may not go', async () => {
    const geo = await createGitRepo({
      'go.mod': 'module example.com/geo\n\ngo 1.19\n',
      'geo.go':
        '// Package geo measures shapes.\npackage geo\n\nimport "example.com/geo/internal/mathx"\n\n// Area of a rectangle.\nfunc Area(w, h int) int { return mathx.Mul(w, h) }\n',
      'internal/mathx/mathx.go':
        '// Package mathx is internal arithmetic.\npackage mathx\n\n// Mul multiplies.\nfunc Mul(a, b int) int { return a * b }\n\n// Div divides.\nfunc Div(a, b int) int { return a / b }\n',
      'cmd/geo/main.go':
        'package main\n\nimport (\n\t"fmt"\n\n\t"example.com/geo"\n)\n\n// Print is exported but lives in a command.\nfunc Print() { fmt.Println(geo.Area(2, 3)) }\n\nfunc main() { Print() }\n',
    });
    const dir = await realpath(await mkdtemp(join(tmpdir(), 'tandem-gate-go-scope-')));
    const names = ['internal', 'exported'];
    try {
      const apiOnly = createRatchetGate({
        settings: GateConfigSchema.parse({ checks: checks.filter((c) => c.name === 'go-api') }),
        baselineDir: join(dir, 'baselines'),
        scratchDir: join(dir, 'scratch'),
      });
      const change = async (name: string, files: Readonly<Record<string, string>>): Promise<GateReport> => {
        const cwd = await taskWorktree(geo, dir, name);
        await writeFiles(cwd, files);
        return apiOnly.run({ cwd, taskId: name, stepId: 'S1', baseCommit: geo.head, signal: new AbortController().signal, allowBreaking: false });
      };

      const internal = await change('internal', {
        'internal/mathx/mathx.go': '// Package mathx is internal arithmetic.\npackage mathx\n\n// Mul multiplies.\nfunc Mul(a, b int) int { return a * b }\n',
        'cmd/geo/main.go': 'package main\n\nimport (\n\t"fmt"\n\n\t"example.com/geo"\n)\n\nfunc main() { fmt.Println(geo.Area(2, 3)) }\n',
      });
      expect(internal.passed, internal.summary).toBe(true);
      expect(body(internal, 'go-api')).toBe('1 export, none removed');

      const exported = await change('exported', {
        'geo.go': '// Package geo measures shapes.\npackage geo\n\n// Perimeter of a rectangle.\nfunc Perimeter(w, h int) int { return 2 * (w + h) }\n',
      });
      expect(exported.passed).toBe(false);
      expect(exported.regressions).toEqual([{ type: 'api_breaking', check: 'go-api', count: 1, items: ['example.com/geo: Area (func)'] }]);
    } finally {
      for (const name of names) await geo.git('worktree', 'remove', '--force', join(dir, name)).catch(() => undefined);
      await geo.cleanup();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
