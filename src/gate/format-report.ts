import type { CheckResult, GateReport, Regression } from '../model/gate-report.js';

/** How the report names where its checks came from, e.g. `.tandem/quality.yaml`. */
export interface FormatOptions {
  readonly source?: string | undefined;
  /** Full excerpts of failed checks under the table (what the implementer would get). */
  readonly excerpts?: boolean;
}

/** The report as a person reads it in a terminal: verdict, one row per check, then what regressed. */
export function formatGateReport(report: GateReport, options: FormatOptions = {}): string {
  const lines: string[] = [`Quality gate ${verdictWord(report)}: ${report.summary}`];
  const context = [
    ...(report.base_commit === undefined ? [] : [`base ${report.base_commit.slice(0, 12)}`]),
    ...(report.change === undefined ? [] : [`areas: ${report.change.areas.join(', ') || 'none'}`]),
    ...(options.source === undefined ? [] : [`checks from ${options.source}`]),
  ];
  if (context.length > 0) lines.push(context.join(' · '));
  if ((report.dependencies ?? []).length > 0) lines.push(`dependencies: ${(report.dependencies ?? []).join('; ')}`);
  const rows: string[][] = [['CHECK', 'KIND', 'RESULT', 'TIME', 'DETAILS']];
  for (const check of report.checks)
    rows.push([check.name, check.kind, check.passed ? 'pass' : 'FAIL', `${(check.duration_ms / 1000).toFixed(1)} s`, details(check)]);
  for (const skipped of report.skipped ?? []) rows.push([skipped.name, '', 'skip', '-', skipped.reason]);
  if (rows.length > 1) lines.push('', ...table(rows));
  if (options.excerpts !== false) {
    for (const check of report.checks.filter((c) => !c.passed)) lines.push('', `── ${check.name} ──`, check.excerpt);
  }
  return `${lines.join('\n')}\n`;
}

function verdictWord(report: GateReport): string {
  switch (report.verdict) {
    case 'environment':
      return 'ENVIRONMENT (a person must fix the machine, not the code)';
    case 'breaking_change':
      return 'BREAKING CHANGE (a person must allow it)';
    default:
      return report.passed ? 'PASSED' : 'FAILED';
  }
}

function details(check: CheckResult): string {
  if (!check.passed) return (check.regressions ?? []).map(short).join('; ') || 'failed';
  const summary = check.excerpt.split('\n')[1] ?? '';
  return summary.length > 100 ? `${summary.slice(0, 99)}…` : summary;
}

function short(regression: Regression): string {
  switch (regression.type) {
    case 'tests_failed':
      return `${regression.count} failing test${regression.count === 1 ? '' : 's'}`;
    case 'warnings_new':
      return `${regression.count} new warning${regression.count === 1 ? '' : 's'}`;
    case 'api_breaking':
      return `${regression.count} export${regression.count === 1 ? '' : 's'} removed`;
    case 'hooks_failed':
      return 'hook failed';
    default:
      return (regression.items[0] ?? regression.type).replace(/ \(.*$/, '');
  }
}

function table(rows: readonly string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((cells) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}
