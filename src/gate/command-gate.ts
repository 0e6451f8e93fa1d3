import { performance } from 'node:perf_hooks';
import type { GateCheckConfig } from '../gate/gate-options.js';
import { summarizeGate, type CheckResult, type GateReport, type QualityGate } from '../model/gate-report.js';
import { environmentProblem } from './environment.js';
import { formatExcerpt } from './excerpt.js';
import { runCheck, type CheckRun } from './run-check.js';

export { detectDefaultChecks } from './default-checks.js';

export interface CommandGateOptions {
  readonly checks: readonly GateCheckConfig[];
  /** Lines of output kept in each check's excerpt. */
  readonly excerptLines: number;
  /** Called with each check's pid as it starts, e.g. to record it for cleanup after a crash. */
  readonly onSpawn?: (info: { taskId: string; stepId: string; pid: number }) => void;
  /** Variables checks may see besides the safe ones (`gate.env_allow`). */
  readonly envAllow?: readonly string[];
}

/**
 * The first quality gate: every configured command must exit 0 within its timeout. Checks run one
 * after the other, and all of them run even after a failure so the implementer sees every problem at
 * once; an abort stops the gate and its report does not pass. Running a check (`runCheck`) is kept
 * apart from judging it (`checkVerdict`) so the ratchet can judge the same run against a baseline.
 */
export function createCommandGate(options: CommandGateOptions): QualityGate {
  return {
    async run({ cwd, taskId, stepId, signal }): Promise<GateReport> {
      const started = performance.now();
      const results: CheckResult[] = [];
      let cancelled = false;
      for (const check of options.checks) {
        if (signal.aborted) {
          cancelled = true;
          break;
        }
        const onSpawn = options.onSpawn;
        const run = await runCheck(check, {
          cwd,
          signal,
          envAllow: options.envAllow,
          ...(onSpawn === undefined ? {} : { onSpawn: (pid: number) => onSpawn({ taskId, stepId, pid }) }),
        });
        results.push(checkVerdict(check, run, options.excerptLines));
        if (run.cancelled) {
          cancelled = true;
          break;
        }
      }
      const passed = !cancelled && results.every((r) => r.passed);
      return {
        passed,
        verdict: passed ? 'passed' : results.some((r) => r.environment !== undefined) ? 'environment' : 'failed',
        checks: results,
        duration_ms: Math.round(performance.now() - started),
        summary: cancelled ? `cancelled after ${results.length} of ${options.checks.length} checks started` : summarizeGate(results),
      };
    },
  };
}

/** The plain verdict: exit code 0 and not stopped. */
function checkVerdict(check: GateCheckConfig, run: CheckRun, excerptLines: number): CheckResult {
  const environment = environmentProblem(check, run);
  return {
    ...(environment === undefined ? {} : { environment }),
    name: check.name,
    kind: check.kind,
    command: check.command,
    passed: run.exitCode === 0 && !run.timedOut && !run.cancelled,
    exit_code: run.exitCode,
    timed_out: run.timedOut,
    duration_ms: Math.round(run.durationMs),
    excerpt: formatExcerpt(run, excerptLines, check.timeout_ms),
    metrics: {},
  };
}
