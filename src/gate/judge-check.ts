import type { FlakyPolicy } from '../gate/gate-options.js';
import type { BaselineEntry } from './baseline-store.js';
import type { CheckEvaluation } from './evaluate-check.js';
import { cleanOutput, excerptHeader, formatExcerpt, tailLines } from './excerpt.js';
import type { ParsedOutput, TestCase, Warning } from './parsers/parsed-output.js';
import { compareApi, compareCoverage, fixedWarningCount, lineRanges, newWarnings, removedTests } from './ratchet.js';
import type { CheckKind, CheckResult, Regression, RegressionType } from '../model/gate-report.js';
import { environmentProblem, type EnvironmentProblem } from './environment.js';
import type { CheckRun } from './run-check.js';

const MAX_ITEMS = 50;
const RAW_TAIL_LINES = 15;

export interface JudgePolicy {
  readonly excerptLines: number;
  readonly coverageTolerance: number;
  readonly flakyTests: FlakyPolicy;
  readonly allowBreaking: boolean;
  /** Line coverage below this (percent) fails: the task's `coverage_min`, else the gate's `min_line_coverage`. */
  readonly coverageMin?: number | undefined;
}

export interface JudgeInput {
  readonly evaluation: CheckEvaluation;
  /** The base's measurement, when this check is compared with the base. */
  readonly baseline?: BaselineEntry | undefined;
  /** Why there is no usable baseline although the check needs one. */
  readonly baselineProblem?: string | undefined;
  /** Failing tests that passed when re-run alone. */
  readonly flaky?: readonly TestCase[] | undefined;
  readonly policy: JudgePolicy;
}

/** What a check that only has an exit code regresses when it fails. */
const EXIT_CODE_REGRESSION: Readonly<Record<CheckKind, RegressionType>> = {
  tests: 'tests_failed',
  lint: 'warnings_new',
  types: 'warnings_new',
  coverage: 'coverage_drop',
  hooks: 'hooks_failed',
  api: 'api_breaking',
  custom: 'check_failed',
};

/**
 * The ratchet's verdict on one check: any failing test, any warning the base did not have, a line
 * coverage drop beyond the tolerance, a removed export (unless allowed), or a failure the report
 * cannot explain. The excerpt says exactly what regressed, since it is the implementer's feedback.
 */
export function judgeCheck(input: JudgeInput): CheckResult {
  const { evaluation, policy } = input;
  const { check, run } = evaluation;
  const result = (passed: boolean, regressions: Regression[], excerpt: string, extra: Partial<CheckResult> = {}): CheckResult => ({
    name: check.name,
    kind: check.kind,
    command: check.command,
    passed,
    exit_code: run.exitCode,
    timed_out: run.timedOut,
    duration_ms: Math.round(run.durationMs),
    excerpt,
    metrics: {},
    regressions,
    ...extra,
  });
  const header = excerptHeader(run, check.timeout_ms);

  if (run.timedOut || run.cancelled || run.exitCode === null) {
    const what = run.timedOut ? `timed out (limit ${check.timeout_ms} ms)` : run.cancelled ? 'cancelled' : `killed by ${run.signalName ?? 'a signal'}`;
    return result(false, [regression('check_failed', check.name, [what])], formatExcerpt(run, policy.excerptLines, check.timeout_ms));
  }
  const reportExplains = (evaluation.output?.tests ?? []).some((t) => t.status === 'failed') || (evaluation.output?.warnings ?? []).length > 0;
  const environment = reportExplains ? undefined : environmentProblem(check, run);
  if (environment !== undefined) return asEnvironmentProblem(result(false, [], ''), environment, header, run, policy.excerptLines);
  if (evaluation.unreadable !== undefined) {
    const body = [
      `tandem could not read the output of this check, so it cannot pass: ${evaluation.unreadable}`,
      'Last lines of the output:',
      rawTail(run.output),
    ];
    return result(false, [regression('check_failed', check.name, [evaluation.unreadable])], bounded(header, body, policy.excerptLines));
  }
  const output = evaluation.output;
  if (output === undefined) {
    const passed = run.exitCode === 0;
    return result(
      passed,
      passed ? [] : [regression(EXIT_CODE_REGRESSION[check.kind], check.name, [`exit ${run.exitCode}`])],
      formatExcerpt(run, policy.excerptLines, check.timeout_ms),
    );
  }

  const regressions: Regression[] = [];
  const body: string[] = [];
  const notes: string[] = [];
  const metrics: Record<string, number> = {};
  const baseline: Record<string, number> = {};
  const base = input.baseline?.output;
  const flakyTests = input.flaky ?? [];
  const noBase = input.baselineProblem ?? input.baseline?.error;

  if (output.tests !== undefined) judgeTests(output.tests, base, flakyTests, policy, { check: check.name, regressions, body, notes, metrics, baseline });
  if (output.warnings !== undefined) judgeWarnings(output.warnings, base?.warnings, noBase, { check: check.name, regressions, body, notes, metrics, baseline });
  if (output.coverage !== undefined) {
    metrics.coverage_lines_pct = output.coverage.lines.pct;
    if (base?.coverage === undefined) {
      notes.push(`line coverage ${pct(output.coverage.lines.pct)} (not compared: ${noBase ?? 'the base has no coverage report'})`);
    } else {
      baseline.coverage_lines_pct = base.coverage.lines.pct;
      const comparison = compareCoverage(output.coverage, base.coverage, policy.coverageTolerance);
      const change = `line coverage ${pct(comparison.before)} → ${pct(comparison.after)}`;
      if (comparison.dropped) {
        regressions.push(regression('coverage_drop', check.name, [`${change} (−${comparison.drop.toFixed(2)} points, tolerance ${policy.coverageTolerance})`]));
        body.push(
          `Line coverage dropped: ${pct(comparison.before)} → ${pct(comparison.after)} (−${comparison.drop.toFixed(2)} points; allowed: ${policy.coverageTolerance}).`,
        );
        if (comparison.files.length > 0) body.push('Lines not covered by any test:');
        for (const file of comparison.files.slice(0, 8)) {
          const before = file.before === undefined ? 'new file' : pct(file.before);
          body.push(`  ${file.file}: ${before} → ${pct(file.after)}${file.uncovered.length > 0 ? `, uncovered lines ${lineRanges(file.uncovered)}` : ''}`);
        }
      } else {
        notes.push(change);
      }
    }
  }
  if (output.coverage !== undefined && policy.coverageMin !== undefined) {
    metrics.coverage_min_pct = policy.coverageMin;
    if (output.coverage.lines.pct < policy.coverageMin) {
      regressions.push(
        regression('coverage_below_target', check.name, [`line coverage ${pct(output.coverage.lines.pct)} < minimum ${pct(policy.coverageMin)}`]),
      );
      body.push(
        `Line coverage ${pct(output.coverage.lines.pct)} is below the required minimum of ${pct(policy.coverageMin)}: add tests for the code this step touches.`,
      );
    }
  }
  if (output.exports !== undefined) {
    metrics.exports = output.exports.length;
    if (base?.exports === undefined) {
      notes.push(`${output.exports.length} exports (not compared: ${noBase ?? 'the base has no declarations'})`);
    } else {
      baseline.exports = base.exports.length;
      const api = compareApi(output.exports, base.exports);
      metrics.exports_removed = api.removed.length;
      metrics.exports_changed = api.changed.length;
      metrics.exports_added = api.added.length;
      const removed = api.removed.map((e) => `${e.entry}: ${e.name} (${e.kind})`);
      if (removed.length > 0 && !policy.allowBreaking) {
        regressions.push(regression('api_breaking', check.name, removed));
        body.push(
          `The public API lost ${plural(removed.length, 'export')} that the base has (a breaking change; only a task allowed to break the API may do this):`,
          ...removed.map((r) => `  ${r}`),
        );
      } else if (removed.length > 0) {
        notes.push(`${plural(removed.length, 'export')} removed, allowed for this task: ${removed.join(', ')}`);
      }
      if (api.changed.length > 0)
        notes.push(`${plural(api.changed.length, 'export')} changed declaration (check compatibility): ${api.changed.map((e) => e.name).join(', ')}`);
    }
  }

  const failedTests = (output.tests ?? []).filter((t) => t.status === 'failed').length;
  const explained = failedTests > 0 || (output.warnings ?? []).length > 0;
  if (run.exitCode !== 0 && !explained) {
    // The same exit at the base is no regression only when the tool visibly did its work (a type
    // error makes tsc exit 2 while it still writes declarations); an empty report proves nothing.
    const reported = (output.tests ?? []).length > 0 || output.coverage !== undefined || (output.exports ?? []).length > 0;
    if (reported && input.baseline !== undefined && input.baseline.exit_code === run.exitCode) {
      notes.push(`exit ${run.exitCode}, as at the base`);
    } else if ((output.exports ?? []).length > 0) {
      // tsc exits 2 on a type error while it still writes the declarations: the types check reports that error, once.
      notes.push(`exit ${run.exitCode}; the API was read all the same (errors are the types check's to report)`);
    } else {
      regressions.push(regression('check_failed', check.name, [`exit ${run.exitCode}`]));
      body.push(`The command exited with ${run.exitCode} although its report shows no failing test or warning. Last lines of the output:`, rawTail(run.output));
    }
  }

  const passed = regressions.length === 0;
  const lines = passed ? [summaryLine(metrics, notes)] : [...body, ...(notes.length > 0 ? [`(${notes.join('; ')})`] : [])];
  return result(passed, regressions, bounded(header, lines, policy.excerptLines), {
    metrics,
    ...(Object.keys(baseline).length > 0 ? { baseline } : {}),
    ...(flakyTests.length > 0 ? { flaky: flakyTests.map((t) => t.name) } : {}),
  });
}

/**
 * The check's result turned into an environment problem: it fails, and its only regression says
 * the check could not run, with what a person does about it; no implementer is asked to fix it.
 */
export function asEnvironmentProblem(checkResult: CheckResult, problem: EnvironmentProblem, header: string, run: CheckRun, excerptLines: number): CheckResult {
  const body = [
    `This check could not run on this machine, so it says nothing about the change (an environment problem for a person, not for the implementer): ${problem.error}`,
    `Fix: ${problem.fix}`,
    'Last lines of the output:',
    rawTail(run.output),
  ];
  return {
    ...checkResult,
    passed: false,
    regressions: [regression('environment', checkResult.name, [problem.error])],
    excerpt: bounded(header, body, excerptLines),
    environment: problem,
  };
}

interface Sink {
  readonly check: string;
  readonly regressions: Regression[];
  readonly body: string[];
  readonly notes: string[];
  readonly metrics: Record<string, number>;
  readonly baseline: Record<string, number>;
}

function judgeTests(tests: readonly TestCase[], base: ParsedOutput | undefined, flaky: readonly TestCase[], policy: JudgePolicy, sink: Sink): void {
  const isFlaky = (t: TestCase): boolean => flaky.some((f) => f.name === t.name && f.file === t.file);
  const failed = tests.filter((t) => t.status === 'failed');
  const counted = policy.flakyTests === 'warn' ? failed.filter((t) => !isFlaky(t)) : failed;
  sink.metrics.tests_total = tests.length;
  sink.metrics.tests_passed = tests.filter((t) => t.status === 'passed').length;
  sink.metrics.tests_failed = counted.length;
  sink.metrics.tests_skipped = tests.filter((t) => t.status === 'skipped').length;
  sink.metrics.tests_flaky = flaky.length;
  const failingAtBase = new Set((base?.tests ?? []).filter((t) => t.status === 'failed').map((t) => t.name));
  if (base?.tests !== undefined) {
    sink.baseline.tests_total = base.tests.length;
    const removed = removedTests(tests, base.tests);
    sink.metrics.tests_removed = removed.length;
    if (removed.length > 0)
      sink.notes.push(
        `${plural(removed.length, 'test')} that passed at the base no longer ran: ${removed
          .slice(0, 5)
          .map((t) => t.name)
          .join(', ')}${removed.length > 5 ? ', …' : ''}`,
      );
  }
  const label = (t: TestCase): string =>
    `${t.name}${isFlaky(t) ? ' (flaky: passed when re-run alone)' : ''}${failingAtBase.has(t.name) ? ' (also failing at the base)' : ''}`;
  if (counted.length > 0) {
    sink.regressions.push(regression('tests_failed', sink.check, counted.map(label)));
    sink.body.push(`${plural(counted.length, 'failing test')}:`);
    for (const test of counted) {
      sink.body.push(`✗ ${label(test)}${test.file !== undefined && !test.name.includes(test.file) ? `  [${test.file}]` : ''}`);
      if (test.message !== undefined) sink.body.push(...test.message.split('\n').map((l) => `    ${l}`));
    }
  }
  if (flaky.length > 0) {
    const line = `${plural(flaky.length, 'flaky test')} (failed, then passed when re-run alone): ${flaky.map((t) => t.name).join(', ')}`;
    if (policy.flakyTests === 'warn') sink.notes.push(line);
    else if (counted.length === 0) sink.body.push(line);
  }
}

function judgeWarnings(warnings: readonly Warning[], base: readonly Warning[] | undefined, noBase: string | undefined, sink: Sink): void {
  sink.metrics.warnings = warnings.length;
  const fresh = base === undefined ? [...warnings] : newWarnings(warnings, base);
  sink.metrics.warnings_new = fresh.length;
  if (base !== undefined) {
    sink.baseline.warnings = base.length;
    const fixed = fixedWarningCount(warnings, base);
    sink.metrics.warnings_fixed = fixed;
    if (fixed > 0) sink.notes.push(`${plural(fixed, 'warning')} of the base fixed`);
  }
  if (fresh.length === 0) return;
  const items = fresh.map(formatWarning);
  sink.regressions.push(regression('warnings_new', sink.check, items));
  sink.body.push(
    base === undefined
      ? `${plural(fresh.length, 'warning')}; every one counts as new because the base could not be measured (${noBase ?? 'no baseline'}):`
      : `${plural(fresh.length, 'new warning')} that the base does not have (base ${base.length}, now ${warnings.length}):`,
    ...items,
  );
}

function formatWarning(w: Warning): string {
  const where = w.file === '' ? '(project)' : `${w.file}:${w.line}${w.column === undefined ? '' : `:${w.column}`}`;
  return `${where} ${w.rule} ${w.message.split('\n').join(' / ')}`;
}

function regression(type: RegressionType, check: string, items: readonly string[]): Regression {
  return { type, check, count: Math.max(1, items.length), items: items.slice(0, MAX_ITEMS) };
}

function summaryLine(metrics: Record<string, number>, notes: readonly string[]): string {
  const parts: string[] = [];
  if (metrics.tests_total !== undefined)
    parts.push(`${metrics.tests_passed ?? 0} passed, ${metrics.tests_failed ?? 0} failed, ${metrics.tests_skipped ?? 0} skipped`);
  if (metrics.warnings !== undefined) parts.push(`${plural(metrics.warnings, 'warning')}, none new`);
  if (metrics.exports !== undefined)
    parts.push(metrics.exports_removed === 0 ? `${plural(metrics.exports, 'export')}, none removed` : plural(metrics.exports, 'export'));
  return [...parts, ...notes].join('; ') || 'passed';
}

function bounded(header: string, lines: readonly string[], max: number): string {
  const all = lines.flatMap((l) => l.split('\n'));
  const kept = all.length > max ? [...all.slice(0, Math.max(1, max - 1)), `… (${all.length - Math.max(1, max - 1)} more lines)`] : all;
  return [header, ...kept].join('\n');
}

function rawTail(output: string): string {
  const tail = tailLines(cleanOutput(output), RAW_TAIL_LINES);
  return tail === '' ? '(no output)' : tail;
}

function pct(value: number): string {
  return `${value.toFixed(2)}%`;
}

export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
