import { z } from 'zod';
import { ChangeSizeSchema } from './parser-names.js';

export const CheckKindSchema = z.enum(['tests', 'lint', 'types', 'coverage', 'hooks', 'api', 'custom']);
export type CheckKind = z.infer<typeof CheckKindSchema>;

/**
 * What made a step fail, by the labels of `orchestrator_quality_regressions_total{type}` (seed 002
 * names the first three): failing tests, warnings the base did not have, lower line coverage, a
 * failed git hook, an export of the public API gone, or a check that failed in another way (timed
 * out, crashed, printed output its parser cannot read); line coverage under the required minimum;
 * a check that could not run on this machine (`environment`: no implementer can fix that).
 */
export const RegressionTypeSchema = z.enum([
  'tests_failed',
  'warnings_new',
  'coverage_drop',
  'hooks_failed',
  'api_breaking',
  'check_failed',
  'coverage_below_target',
  'environment',
]);
export type RegressionType = z.infer<typeof RegressionTypeSchema>;

const RegressionSchema = z.object({
  type: RegressionTypeSchema,
  check: z.string(),
  /** How many: failing tests, new warnings, removed exports; 1 for a coverage drop or a failed command. */
  count: z.number().int().positive(),
  /** The regressed items as the implementer reads them (at most 50). */
  items: z.array(z.string()),
});
export type Regression = z.infer<typeof RegressionSchema>;

const FlakyTestSchema = z.object({ check: z.string(), name: z.string(), file: z.string().optional() });
export type FlakyTest = z.infer<typeof FlakyTestSchema>;

const ChangeSummarySchema = z.object({
  size: ChangeSizeSchema,
  /** Lines added plus deleted against the base, untracked files included. */
  lines: z.number().int().nonnegative(),
  files: z.number().int().nonnegative(),
  /** Kinds of files touched: source, tests, docs, config. */
  areas: z.array(z.string()),
});
export type ChangeSummary = z.infer<typeof ChangeSummarySchema>;

const CheckResultSchema = z.object({
  name: z.string(),
  kind: CheckKindSchema,
  command: z.string(),
  passed: z.boolean(),
  exit_code: z.number().int().nullable(),
  timed_out: z.boolean(),
  duration_ms: z.number().nonnegative(),
  /** The relevant tail of the output: what the implementer gets back as feedback. */
  excerpt: z.string(),
  metrics: z.record(z.string(), z.number()).default({}),
  baseline: z.record(z.string(), z.number()).optional(),
  /** The ratchet's findings for this check; empty when it passed. */
  regressions: z.array(RegressionSchema).optional(),
  /** Tests that failed and then passed when re-run alone. */
  flaky: z.array(z.string()).optional(),
  /** The check could not run on this machine (tool missing, or it fails the same way on the base), and what a person does about it. */
  environment: z.object({ error: z.string(), fix: z.string() }).optional(),
});
export type CheckResult = z.infer<typeof CheckResultSchema>;

/**
 * What the runtime does with a report: `passed` commits the step; `failed` goes back to the
 * implementer; `environment` (a check could not run: a missing tool, or a failure the base has
 * too) and `breaking_change` (a public export removed without the task's allow_breaking) wait for
 * a person without spending an implementer attempt.
 */
const GateVerdictSchema = z.enum(['passed', 'failed', 'environment', 'breaking_change']);
export type GateVerdict = z.infer<typeof GateVerdictSchema>;

export const GateReportSchema = z.object({
  passed: z.boolean(),
  /** Absent in reports of older versions and of the plain command gate: `passed` decides alone. */
  verdict: GateVerdictSchema.optional(),
  checks: z.array(CheckResultSchema),
  duration_ms: z.number().nonnegative(),
  summary: z.string(),
  /** The commit the step was compared with. */
  base_commit: z.string().optional(),
  change: ChangeSummarySchema.optional(),
  /** Checks not run for this change size, with the reason. */
  skipped: z.array(z.object({ name: z.string(), reason: z.string() })).optional(),
  /** Every check's regressions in one list: what the metrics count. */
  regressions: z.array(RegressionSchema).optional(),
  flaky: z.array(FlakyTestSchema).optional(),
  /** How the worktree got the repository's installed dependencies, e.g. `node_modules: linked from /repo/node_modules`. */
  dependencies: z.array(z.string()).optional(),
});
export type GateReport = z.infer<typeof GateReportSchema>;

/** The port the supervisor calls; the command gate and the ratchet gate implement it. */
export interface GateRunInput {
  cwd: string;
  taskId: string;
  stepId: string;
  baseCommit: string;
  signal: AbortSignal;
  /** The task may remove public exports (a person allowed a breaking change). */
  allowBreaking?: boolean;
  /** The task's minimum line coverage in percent (`coverage_min`), over the gate's `min_line_coverage`. */
  coverageMin?: number | undefined;
  /** The plan step's own commands: each runs as a check (`step-1`, …) and must exit 0. */
  stepCommands?: readonly string[] | undefined;
  /** Called as each check starts and finishes, for live progress. */
  onProgress?: ((event: GateProgress) => void) | undefined;
}

/** One check starting or finishing, while the gate runs. */
type GateProgress =
  | { readonly type: 'check.started'; readonly check: string; readonly base: boolean }
  | { readonly type: 'check.finished'; readonly check: string; readonly base: boolean; readonly passed: boolean; readonly duration_ms: number };

/**
 * A person must look before the task goes on: `environment` and `breaking_change` reports. The
 * supervisor parks such a step in AWAITING_HUMAN_REVIEW with this reason instead of spending an
 * implementer attempt on it.
 */
export function gateEscalation(report: GateReport): { kind: 'environment' | 'breaking_change'; reason: string } | undefined {
  if (report.verdict === 'environment') {
    const problems = report.checks
      .filter((c) => c.environment !== undefined)
      .map((c) => `${c.name}: ${c.environment?.error ?? ''} (fix: ${c.environment?.fix ?? ''})`);
    return { kind: 'environment', reason: `the quality gate could not run on this machine, which no change of code can fix: ${problems.join('; ')}` };
  }
  if (report.verdict === 'breaking_change') {
    const removed = (report.regressions ?? []).filter((r) => r.type === 'api_breaking').flatMap((r) => r.items.map((i) => `${r.check}: ${i}`));
    return {
      kind: 'breaking_change',
      reason: `the step removes public exports (a breaking change) and the task does not set allow_breaking: ${removed.join(', ')}; approve to accept it, or give feedback`,
    };
  }
  return undefined;
}

export interface QualityGate {
  run(input: GateRunInput): Promise<GateReport>;
}

export function summarizeGate(checks: readonly CheckResult[]): string {
  if (checks.length === 0) return 'no checks configured';
  const failed = checks.filter((c) => !c.passed);
  if (failed.length === 0) return `${checks.length}/${checks.length} checks passed`;
  return `${failed.length} of ${checks.length} checks failed: ${failed.map((c) => (c.timed_out ? `${c.name} (timed out)` : c.name)).join(', ')}`;
}
