import { performance } from 'node:perf_hooks';
import type { GateCheckConfig, GateConfig } from '../gate/gate-options.js';
import { errorMessage } from '../platform/errors.js';
import { withBaseWorktree } from './base-worktree.js';
import { baselineKey, createBaselineStore, type BaselineEntry } from './baseline-store.js';
import { classifyChange, runsOn } from './change-size.js';
import { evaluateCheck, rerunPassed, type CheckEvaluation } from './evaluate-check.js';
import { judgeCheck } from './judge-check.js';
import { measureChange } from './measure-change.js';
import { API_PARSERS, COVERAGE_PARSERS, WARNING_PARSERS } from '../model/parser-names.js';
import type { TestCase } from './parsers/parsed-output.js';
import { summarizeRatchet } from './ratchet-summary.js';
import type { CheckResult, FlakyTest, GateReport, GateRunInput, QualityGate } from '../model/gate-report.js';

export interface RatchetGateOptions {
  /** The gate settings, or a function giving each run its repository's settings. */
  readonly settings: GateConfig | ((input: GateRunInput) => Promise<GateConfig>);
  /** Where baselines are cached by commit (e.g. `<state_dir>/gate-baselines`); in memory when absent. */
  readonly baselineDir?: string | undefined;
  /** Where the base's temporary worktrees go (e.g. `<state_dir>/worktrees`); default the system temp dir. */
  readonly scratchDir?: string | undefined;
  /** Called with each check's pid as it starts (base measurements included), e.g. to reap it after a crash. */
  readonly onSpawn?: ((info: { taskId: string; stepId: string; pid: number }) => void) | undefined;
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
      const settings = typeof options.settings === 'function' ? await options.settings(input) : options.settings;
      const onSpawn = options.onSpawn === undefined ? undefined : (pid: number) => options.onSpawn?.({ taskId: input.taskId, stepId: input.stepId, pid });
      const change = classifyChange(await measureChange(input.cwd, input.baseCommit, input.signal), settings.change_size);
      const selected = settings.checks.filter((c) => runsOn(c.runs_on, change.size));
      const skipped = settings.checks
        .filter((c) => !runsOn(c.runs_on, change.size))
        .map((c) => ({ name: c.name, reason: `runs on ${(c.runs_on ?? []).join(', ')}; this change is ${change.size}` }));

      const evaluations: { evaluation: CheckEvaluation; flaky: TestCase[] }[] = [];
      let cancelled = false;
      let startedChecks = 0;
      for (const check of selected) {
        if (input.signal.aborted) {
          cancelled = true;
          break;
        }
        startedChecks++;
        const evaluation = await evaluateCheck(check, { cwd: input.cwd, signal: input.signal, onSpawn, envAllow: settings.env_allow });
        if (evaluation.run.cancelled) {
          cancelled = true;
          break;
        }
        evaluations.push({ evaluation, flaky: await findFlaky(evaluation, settings, { cwd: input.cwd, signal: input.signal, onSpawn, envAllow: settings.env_allow }) });
      }

      const compared = evaluations.filter((e) => e.evaluation.output !== undefined && needsBaseline(e.evaluation.check)).map((e) => e.evaluation.check);
      const problems = new Map<string, string>();
      let entries = new Map<string, BaselineEntry>();
      if (!cancelled && compared.length > 0) {
        try {
          entries = await baselines.get(input.baseCommit, compared, (missing) =>
            withBaseWorktree({ cwd: input.cwd, commit: input.baseCommit, links: settings.baseline_links, scratchDir: options.scratchDir, signal: input.signal }, async (dir) => {
              const measured = new Map<string, BaselineEntry>();
              for (const check of missing) {
                if (input.signal.aborted) break;
                const base = await evaluateCheck(check, { cwd: dir, signal: input.signal, onSpawn, envAllow: settings.env_allow });
                // Timeouts and cancels say nothing about the base; they are not cached.
                if (base.run.timedOut || base.run.cancelled) {
                  problems.set(check.name, `measuring the base ${base.run.timedOut ? 'timed out' : 'was cancelled'}`);
                  continue;
                }
                measured.set(check.name, {
                  key: baselineKey(check),
                  exit_code: base.run.exitCode,
                  ...(base.output === undefined ? {} : { output: base.output }),
                  ...(base.unreadable === undefined ? {} : { error: `the base's output could not be read: ${base.unreadable}` }),
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
      };
      const checks: CheckResult[] = evaluations.map(({ evaluation, flaky }) =>
        judgeCheck({
          evaluation,
          baseline: entries.get(evaluation.check.name),
          baselineProblem: needsBaseline(evaluation.check) && !entries.has(evaluation.check.name) ? (problems.get(evaluation.check.name) ?? 'the base was not measured') : undefined,
          flaky,
          policy,
        }),
      );
      const flaky: FlakyTest[] = evaluations.flatMap(({ evaluation, flaky: tests }) =>
        tests.map((t) => ({ check: evaluation.check.name, name: t.name, ...(t.file === undefined ? {} : { file: t.file }) })),
      );
      return {
        passed: !cancelled && checks.every((c) => c.passed),
        checks,
        duration_ms: Math.round(performance.now() - started),
        summary: summarizeRatchet({ checks, change, skipped: skipped.length, flaky, cancelled, started: startedChecks, planned: selected.length }),
        base_commit: input.baseCommit,
        change,
        skipped,
        regressions: checks.flatMap((c) => c.regressions ?? []),
        flaky,
      };
    },
  };
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
