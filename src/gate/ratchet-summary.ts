import { plural } from './judge-check.js';
import type { ChangeSummary, CheckResult, FlakyTest, Regression } from '../model/gate-report.js';

/** What a regression amounts to in a few words, for the one-line summary. */
function describe(regression: Regression): string {
  switch (regression.type) {
    case 'tests_failed':
      return plural(regression.count, 'failing test');
    case 'warnings_new':
      return plural(regression.count, 'new warning');
    case 'coverage_drop':
      return (regression.items[0] ?? 'coverage dropped').replace(/ \(.*$/, '');
    case 'hooks_failed':
      return 'hook failed';
    case 'api_breaking':
      return `${plural(regression.count, 'export')} removed`;
    case 'check_failed':
      return regression.items[0] ?? 'failed';
    case 'coverage_below_target':
      return (regression.items[0] ?? 'coverage below the minimum').replace(/ \(.*$/, '');
    case 'environment':
      return `cannot run: ${regression.items[0] ?? 'environment'}`;
  }
}

/**
 * One line for logs, the progress view and commit trailers, e.g. `2 of 4 checks failed: lint
 * (1 new warning), test (2 failing tests); SMALL change`.
 */
export function summarizeRatchet(input: {
  readonly checks: readonly CheckResult[];
  readonly change: ChangeSummary;
  readonly skipped: number;
  readonly flaky: readonly FlakyTest[];
  readonly cancelled: boolean;
  /** Checks started, the cancelled one included. */
  readonly started: number;
  readonly planned: number;
}): string {
  const { checks, change } = input;
  const context = [
    `${change.size} change: ${plural(change.lines, 'line')} in ${plural(change.files, 'file')}`,
    ...(input.skipped > 0 ? [`${input.skipped} skipped`] : []),
    ...(input.flaky.length > 0 ? [plural(input.flaky.length, 'flaky test')] : []),
  ].join(', ');
  if (input.cancelled) return `cancelled after ${input.started} of ${input.planned} checks started (${context})`;
  if (checks.length === 0) return `no checks ran (${context})`;
  const failed = checks.filter((c) => !c.passed);
  if (failed.length === 0) return `${checks.length}/${checks.length} checks passed (${context})`;
  const details = failed.map((c) => `${c.name} (${(c.regressions ?? []).map(describe).join(', ') || 'failed'})`);
  return `${failed.length} of ${checks.length} checks failed: ${details.join(', ')} (${context})`;
}
