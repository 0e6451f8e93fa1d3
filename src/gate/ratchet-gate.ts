import { isAbsolute, relative, sep } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { GateCheckConfig, GateConfig } from '../gate/gate-options.js';
import { errorMessage } from '../platform/errors.js';
import { withBaseWorktree } from './base-worktree.js';
import { baselineKey, createBaselineStore, type BaselineEntry } from './baseline-store.js';
import { classifyChange, selectedFor } from './change-size.js';
import { evaluateCheck, rerunPassed, type CheckEvaluation } from './evaluate-check.js';
import { asEnvironmentProblem, judgeCheck } from './judge-check.js';
import { provideDependencies } from './dependencies.js';
import { environmentProblem, sameFailureAtBase } from './environment.js';
import { excerptHeader } from './excerpt.js';
import { measureChange } from './measure-change.js';
import { API_PARSERS, COVERAGE_PARSERS, WARNING_PARSERS } from '../model/parser-names.js';
import type { TestCase } from './parsers/parsed-output.js';
import { summarizeRatchet } from './ratchet-summary.js';
import { withStepCommands } from './step-commands.js';
import type { CheckResult, FlakyTest, GateReport, GateRunInput, GateVerdict, QualityGate } from '../model/gate-report.js';

export interface RatchetGateOptions {
  /** The gate settings, or a function giving each run its repository's settings. */
  readonly settings: GateConfig | ((input: GateRunInput) => Promise<GateConfig>);
  /** Where baselines are cached by commit (e.g. `<state_dir>/gate-baselines`); in memory when absent. */
  readonly baselineDir?: string | undefined;
  /** Where the base's temporary worktrees go (e.g. `<state_dir>/worktrees`); default the system temp dir. */
  readonly scratchDir?: string | undefined;
  /** tandem's state dir: never part of a change when it lies inside the worktree (`.tandem` never is either). */
  readonly stateDir?: string | undefined;
  /** Called with each check's pid as it starts (base measurements included), e.g. to reap it after a crash. */
  readonly onSpawn?: ((info: { taskId: string; stepId: string; pid: number }) => void) | undefined;
}

/** Tests and the public API: no change class may skip them when code changed. */
function alwaysRuns(check: GateCheckConfig): boolean {
  return check.kind === 'tests' || check.kind === 'api' || (check.parser !== undefined && (API_PARSERS as readonly string[]).includes(check.parser));
}

/** The state dir, relative to the worktree, when it lies inside it. */
function stateDirsIn(cwd: string, stateDir: string | undefined): string[] {
  if (stateDir === undefined) return [];
  const inside = relative(cwd, stateDir);
  return inside === '' || inside.startsWith('..') || isAbsolute(inside) ? [] : [inside.split(sep).join('/')];
}

const COMPARED_PARSERS: readonly string[] = [...WARNING_PARSERS, ...COVERAGE_PARSERS, ...API_PARSERS];

/** Checks whose verdict depends on the base: warnings, coverage and the API are compared, tests are not. */
function needsBaseline(check: GateCheckConfig): boolean {
  return check.coverage !== undefined || (check.parser !== undefined && COMPARED_PARSERS.includes(check.parser));
}

/**
 * The quality gate as a ratchet (seed 002 §3, DESIGN §7): the checks that the change's size calls
 * for run in the task's worktree, and the step fails on any failing test, any warning the base did
 * not have, a line coverage drop, a failed hook, a removed export or a failure the tools' output
 * cannot explain. The base commit is measured once (in a temporary worktree) and cached by sha.
 */
export function createRatchetGate(options: RatchetGateOptions): QualityGate {
  const baselines = createBaselineStore({ dir: options.baselineDir });
  return {
    async run(input): Promise<GateReport> {
      const started = performance.now();
      const configured = typeof options.settings === 'function' ? await options.settings(input) : options.settings;
      const settings = withStepCommands(configured, input.stepCommands);
      const stepChecks = new Set(settings.checks.slice(configured.checks.length));
      const onSpawn = options.onSpawn === undefined ? undefined : (pid: number) => options.onSpawn?.({ taskId: input.taskId, stepId: input.stepId, pid });
      const change = classifyChange(
        await measureChange(input.cwd, input.baseCommit, { signal: input.signal, stateDirs: stateDirsIn(input.cwd, options.stateDir) }),
        settings.change_size,
      );
      const runs = (c: GateCheckConfig): boolean => selectedFor(c, alwaysRuns(c), change.size);
      const selected = settings.checks.filter(runs);
      const skipped = settings.checks
        .filter((c) => !runs(c))
        .map((c) => ({ name: c.name, reason: `runs on ${(c.runs_on ?? []).join(', ')}; this change is ${change.size}` }));

      const dependencies = await provideDependencies(input.cwd, settings.baseline_links).catch((error: unknown) => [
        `could not link installed dependencies: ${errorMessage(error)}`,
      ]);
      const progress = input.onProgress;
      const timed = async (check: GateCheckConfig, base: boolean, cwd: string): Promise<CheckEvaluation> => {
        progress?.({ type: 'check.started', check: check.name, base });
        const evaluation = await evaluateCheck(check, { cwd, signal: input.signal, onSpawn, envAllow: settings.env_allow });
        const passed = evaluation.run.exitCode === 0 && !evaluation.run.timedOut && evaluation.unreadable === undefined;
        progress?.({ type: 'check.finished', check: check.name, base, passed, duration_ms: Math.round(evaluation.run.durationMs) });
        return evaluation;
      };

      const evaluations: { evaluation: CheckEvaluation; flaky: TestCase[] }[] = [];
      let cancelled = false;
      let startedChecks = 0;
      for (const check of selected) {
        if (input.signal.aborted) {
          cancelled = true;
          break;
        }
        startedChecks++;
        const evaluation = await timed(check, false, input.cwd);
        if (evaluation.run.cancelled) {
          cancelled = true;
          break;
        }
        evaluations.push({
          evaluation,
          flaky: await findFlaky(evaluation, settings, { cwd: input.cwd, signal: input.signal, onSpawn, envAllow: settings.env_allow }),
        });
      }
      const baseWorktree = <T>(fn: (dir: string) => Promise<T>): Promise<T> =>
        withBaseWorktree(
          { cwd: input.cwd, commit: input.baseCommit, links: settings.baseline_links, scratchDir: options.scratchDir, signal: input.signal },
          fn,
        );

      // A check that could not even start says nothing about the base either: it is not compared.
      const compared = evaluations
        .filter(
          (e) =>
            e.evaluation.output !== undefined && needsBaseline(e.evaluation.check) && environmentProblem(e.evaluation.check, e.evaluation.run) === undefined,
        )
        .map((e) => e.evaluation.check);
      const problems = new Map<string, string>();
      let entries = new Map<string, BaselineEntry>();
      if (!cancelled && compared.length > 0) {
        try {
          entries = await baselines.get(input.baseCommit, compared, (missing) =>
            baseWorktree(async (dir) => {
              const measured = new Map<string, BaselineEntry>();
              for (const check of missing) {
                if (input.signal.aborted) break;
                const base = await timed(check, true, dir);
                // Timeouts and cancels say nothing about the base; they are not cached.
                if (base.run.timedOut || base.run.cancelled) {
                  problems.set(check.name, `measuring the base ${base.run.timedOut ? 'timed out' : 'was cancelled'}`);
                  continue;
                }
                const error = baseError(base);
                measured.set(check.name, {
                  key: baselineKey(check),
                  exit_code: base.run.exitCode,
                  ...(base.output === undefined ? {} : { output: base.output }),
                  ...(error === undefined ? {} : { error }),
                });
              }
              return measured;
            }),
          );
        } catch (error) {
          const reason = `the base ${input.baseCommit.slice(0, 12)} could not be measured: ${errorMessage(error)}`;
          for (const check of compared) problems.set(check.name, reason);
        }
        if (input.signal.aborted) cancelled = true;
      }

      const policy = {
        excerptLines: settings.excerpt_lines,
        coverageTolerance: settings.coverage_tolerance,
        flakyTests: settings.flaky_tests,
        allowBreaking: input.allowBreaking === true,
        coverageMin: input.coverageMin ?? settings.min_line_coverage,
      };
      const checks: CheckResult[] = evaluations.map(({ evaluation, flaky }) =>
        judgeCheck({
          evaluation,
          baseline: entries.get(evaluation.check.name),
          baselineProblem:
            needsBaseline(evaluation.check) && !entries.has(evaluation.check.name)
              ? (problems.get(evaluation.check.name) ?? 'the base was not measured')
              : undefined,
          flaky,
          policy,
        }),
      );
      if (!cancelled)
        await blameTheBase(
          checks,
          evaluations.map((e) => e.evaluation),
          {
            baseCommit: input.baseCommit,
            excerptLines: settings.excerpt_lines,
            // A step's own command says what the step must achieve: the base failing it is expected, not the environment's fault.
            comparable: (check) => !stepChecks.has(check),
            measure: (wanted) => baseWorktree(async (dir) => Promise.all(wanted.map((c) => timed(c, true, dir)))),
          },
        );
      const flaky: FlakyTest[] = evaluations.flatMap(({ evaluation, flaky: tests }) =>
        tests.map((t) => ({ check: evaluation.check.name, name: t.name, ...(t.file === undefined ? {} : { file: t.file }) })),
      );
      const passed = !cancelled && checks.every((c) => c.passed);
      const regressions = checks.flatMap((c) => c.regressions ?? []);
      const environment = checks.filter((c) => c.environment !== undefined);
      const verdict: GateVerdict = passed
        ? 'passed'
        : environment.length > 0
          ? 'environment'
          : regressions.some((r) => r.type === 'api_breaking')
            ? 'breaking_change'
            : 'failed';
      const summary = summarizeRatchet({ checks, change, skipped: skipped.length, flaky, cancelled, started: startedChecks, planned: selected.length });
      return {
        passed,
        verdict,
        checks,
        duration_ms: Math.round(performance.now() - started),
        summary:
          verdict === 'environment'
            ? `environment: ${environment.map((c) => `${c.name} could not run (${c.environment?.error ?? ''}); fix: ${c.environment?.fix ?? ''}`).join('; ')} — ${summary}`
            : summary,
        base_commit: input.baseCommit,
        change,
        skipped,
        regressions,
        flaky,
        dependencies,
      };
    },
  };
}

/**
 * Why a base measurement is no measurement (and must not be cached): its output could not be read,
 * its tool could not start, or it failed without reporting anything.
 */
function baseError(base: CheckEvaluation): string | undefined {
  if (base.unreadable !== undefined) return `the base's output could not be read: ${base.unreadable}`;
  const missing = environmentProblem(base.check, base.run);
  if (missing !== undefined) return `the check could not run on the base: ${missing.error}`;
  const output = base.output ?? {};
  const empty =
    (output.tests ?? []).length === 0 && (output.warnings ?? []).length === 0 && output.coverage === undefined && (output.exports ?? []).length === 0;
  if (base.run.exitCode !== 0 && empty) return `the check failed on the base (exit ${base.run.exitCode}) without reporting anything`;
  return undefined;
}

/**
 * A check that failed in a way its report cannot explain (no failing test, no warning: a crash, an
 * unreadable report, an exit code alone) is run on the base as well; failing there the same way,
 * the change did not cause it, and it becomes an environment problem for a person.
 */
async function blameTheBase(
  checks: CheckResult[],
  evaluations: readonly CheckEvaluation[],
  options: {
    baseCommit: string;
    excerptLines: number;
    comparable: (check: GateCheckConfig) => boolean;
    measure: (checks: GateCheckConfig[]) => Promise<CheckEvaluation[]>;
  },
): Promise<void> {
  const unexplained = checks
    .map((result, index) => ({ result, index, evaluation: evaluations[index] }))
    .filter(
      ({ result, evaluation }) =>
        evaluation !== undefined &&
        options.comparable(evaluation.check) &&
        !result.passed &&
        result.environment === undefined &&
        !result.timed_out &&
        unexplainedFailure(result),
    );
  if (unexplained.length === 0) return;
  const measured = await options.measure(unexplained.flatMap(({ evaluation }) => (evaluation === undefined ? [] : [evaluation.check]))).catch(() => []);
  unexplained.forEach(({ result, index, evaluation }, i) => {
    const base = measured[i];
    if (evaluation === undefined || base === undefined || base.run.timedOut || base.run.cancelled) return;
    const problem = sameFailureAtBase(options.baseCommit, evaluation.run, base.run);
    if (problem !== undefined)
      checks[index] = asEnvironmentProblem(result, problem, excerptHeader(evaluation.run, evaluation.check.timeout_ms), evaluation.run, options.excerptLines);
  });
}

/** Failed only as a command (exit code, crash, unreadable output), not by any finding of its report. */
function unexplainedFailure(result: CheckResult): boolean {
  const found = result.regressions ?? [];
  const exitOnly = (r: { items: readonly string[] }): boolean => r.items.length === 1 && /^exit \d+$/.test(r.items[0] ?? '');
  return found.length > 0 && found.every((r) => r.type === 'check_failed' || exitOnly(r));
}

/**
 * Re-runs failing tests alone when only a few failed (many failures are a broken change, not
 * flakiness) and the check says how; those that then pass are flaky.
 */
async function findFlaky(evaluation: CheckEvaluation, settings: GateConfig, options: Parameters<typeof rerunPassed>[2]): Promise<TestCase[]> {
  const failed = (evaluation.output?.tests ?? []).filter((t) => t.status === 'failed' && t.rerun !== undefined);
  if (evaluation.check.rerun === undefined || failed.length === 0 || failed.length > settings.flaky_reruns) return [];
  const flaky: TestCase[] = [];
  for (const test of failed) {
    if (options.signal.aborted) break;
    if (await rerunPassed(evaluation.check, test, options)) flaky.push(test);
  }
  return flaky;
}
