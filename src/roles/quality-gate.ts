import type { QualityGate, GateReport } from '../model/gate-report.js';
import type { GateInput } from '../model/role-contracts.js';
import type { Publish } from './pipeline/events.js';
import type { Clock } from '../platform/clock.js';

/** The quality gate (DESIGN §7): the configured checks on the worktree; gate.check and gate.finished for people watching. */
export function qualityGateWork(deps: { readonly gate: QualityGate; readonly publish: Publish; readonly clock: Clock }) {
  return async (input: GateInput, signal: AbortSignal): Promise<GateReport> => {
    const report = await deps.gate.run({
      cwd: input.worktreePath,
      taskId: input.taskId,
      stepId: input.stepId,
      baseCommit: input.baseCommit,
      signal,
      ...(input.allowBreaking === undefined ? {} : { allowBreaking: input.allowBreaking }),
      ...(input.coverageMin === undefined ? {} : { coverageMin: input.coverageMin }),
      ...(input.stepCommands === undefined ? {} : { stepCommands: input.stepCommands }),
      // Each check as it starts and finishes, so people see what a gate of minutes is doing.
      onProgress: (progress) =>
        deps.publish({
          type: 'gate.check',
          taskId: input.taskId,
          at: deps.clock.now(),
          stepId: input.stepId,
          attempt: input.attempt,
          check: progress.check,
          base: progress.base,
          ...(progress.type === 'check.started'
            ? { phase: 'started' as const }
            : { phase: 'finished' as const, passed: progress.passed, duration_ms: progress.duration_ms }),
        }),
    });
    deps.publish({
      type: 'gate.finished',
      taskId: input.taskId,
      at: deps.clock.now(),
      stepId: input.stepId,
      attempt: input.attempt,
      passed: report.passed,
      summary: report.summary,
      duration_ms: report.duration_ms,
      checks: report.checks.map((c) => ({
        name: c.name,
        passed: c.passed,
        duration_ms: c.duration_ms,
        ...(c.passed ? {} : { excerpt: tellingLines(c.excerpt) }),
      })),
    });
    return report;
  };
}

/**
 * The start of a failed check's excerpt (the gate puts what regressed first), without its command
 * header, for people watching; the implementer still gets the whole excerpt.
 */
function tellingLines(excerpt: string): string {
  const lines = excerpt.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('$ '));
  return lines
    .slice(0, 8)
    .map((l) => l.slice(0, 160))
    .join('\n')
    .slice(0, 2_000);
}
