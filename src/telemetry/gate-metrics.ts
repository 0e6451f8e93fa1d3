import { execFile } from 'node:child_process';
import { basename, dirname, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { CheckKind, GateReport, GateRunInput, QualityGate, RegressionType } from '../model/gate-report.js';
import { FAILING_TEST_BUCKETS, FAILING_TEST_NAMES, type Metrics } from './metrics.js';

const execFileAsync = promisify(execFile);

/**
 * A check that failed without the ratchet's findings (the plain command gate) still says what
 * kind of thing broke; its kind names the regression.
 */
const regressionOfKind: Readonly<Record<CheckKind, RegressionType>> = {
  tests: 'tests_failed',
  lint: 'warnings_new',
  types: 'check_failed',
  coverage: 'coverage_drop',
  hooks: 'hooks_failed',
  api: 'api_breaking',
  custom: 'check_failed',
};

/** Regressions of one gate run by type, as `orchestrator_quality_regressions_total` counts them. */
export function regressionsOf(report: GateReport): Map<RegressionType, number> {
  const counts = new Map<RegressionType, number>();
  const add = (type: RegressionType, n: number): void => void counts.set(type, (counts.get(type) ?? 0) + n);
  for (const check of report.checks) {
    if (check.passed) continue;
    const found = check.regressions ?? report.regressions?.filter((r) => r.check === check.name) ?? [];
    if (found.length === 0) add(regressionOfKind[check.kind], 1);
    for (const regression of found) add(regression.type, regression.count);
  }
  return counts;
}

/**
 * Counts regressions where the gate runs. The lifecycle event `gate.finished` carries the
 * pass/fail summary but not the ratchet's findings, so this one metric is observed on the gate
 * port itself: in embedded mode around the runtime's gate, in distributed mode inside the
 * quality-gate service (each process serves its own /metrics and Prometheus sums them).
 */
export function observeGate(gate: QualityGate, metrics: Metrics, options: ObserveGateOptions = {}): QualityGate {
  const repoOf = options.repoOf ?? repositoryName;
  return {
    async run(input) {
      const report = await gate.run(input);
      // A gate stopped by shutdown or abort found nothing about the code.
      if (input.signal.aborted) return report;
      for (const [type, count] of regressionsOf(report)) metrics.regressions.inc({ type }, count);
      for (const name of failingTestsOf(report)) metrics.failingTests.inc({ test: failingTestLabel(metrics, name) });
      const coverage = coverageOf(report);
      if (coverage !== undefined) metrics.coverage.set({ repo: await repoOf(input).catch(() => 'unknown') }, coverage);
      return report;
    },
  };
}

export interface ObserveGateOptions {
  /** The `repo` label of the coverage gauge; default the name of the repository the worktree belongs to. */
  readonly repoOf?: (input: GateRunInput) => Promise<string>;
}

/** The main repository's directory name: a task's worktree shares its git directory. */
async function repositoryName(input: GateRunInput): Promise<string> {
  const { stdout } = await execFileAsync('git', ['rev-parse', '--git-common-dir'], { cwd: input.cwd });
  const common = resolve(input.cwd, stdout.trim());
  return basename(basename(common) === '.git' ? dirname(common) : common.replace(/\.git$/, ''));
}

/** Line coverage (percent) of the run's coverage checks, from the check metrics the gate reads. */
function coverageOf(report: GateReport): number | undefined {
  const values = report.checks.map((c) => c.metrics.coverage_lines_pct).filter((v): v is number => v !== undefined);
  return values.length === 0 ? undefined : Math.min(...values);
}

/** The names of the tests that failed in one run, as the ratchet listed them. */
function failingTestsOf(report: GateReport): string[] {
  const found = report.regressions ?? report.checks.flatMap((c) => c.regressions ?? []);
  return [...new Set(found.filter((r) => r.type === 'tests_failed').flatMap((r) => r.items))];
}

const admittedTests = new WeakMap<Metrics, Set<string>>();

/**
 * Bounded cardinality: the first FAILING_TEST_NAMES names keep their own series (topk() picks the
 * worst of them); every later name is hashed into one of FAILING_TEST_BUCKETS "other-N" series, so
 * a suite that breaks wholesale cannot grow the registry without limit.
 */
export function failingTestLabel(metrics: Metrics, name: string): string {
  const admitted = admittedTests.get(metrics) ?? new Set<string>();
  admittedTests.set(metrics, admitted);
  if (admitted.has(name)) return name;
  if (admitted.size < FAILING_TEST_NAMES) {
    admitted.add(name);
    return name;
  }
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return `other-${String(hash % FAILING_TEST_BUCKETS)}`;
}
