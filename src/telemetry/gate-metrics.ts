import type { CheckKind, GateReport, QualityGate, RegressionType } from '../model/gate-report.js';
import type { Metrics } from './metrics.js';

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
export function observeGate(gate: QualityGate, metrics: Metrics): QualityGate {
  return {
    async run(input) {
      const report = await gate.run(input);
      // A gate stopped by shutdown or abort found nothing about the code.
      if (input.signal.aborted) return report;
      for (const [type, count] of regressionsOf(report)) metrics.regressions.inc({ type }, count);
      return report;
    },
  };
}
