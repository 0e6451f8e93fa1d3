import type { TaskEvent } from '../model/task-events.js';
import type { TaskOutcome } from '../runtime/task-outcome.js';
import { formatCost, formatDuration, formatUsd } from '../platform/format.js';

/**
 * The human view of a run: one line per lifecycle event, with the elapsed time, so a person can
 * follow every task, step, role, model, attempt and gate result as it happens.
 */
export interface ProgressOptions {
  readonly write: (text: string) => void;
  readonly now: () => number;
  readonly color: boolean;
  /** Runner names shown as labels, e.g. `scripted` for replayed answers. */
  readonly runnerLabel?: (runner: string) => string;
}

/** Lines of a failed check's output shown under its gate result. */
const excerptLines = 6;

const paint = {
  dim: (s: string) => `\u001b[2m${s}\u001b[22m`,
  green: (s: string) => `\u001b[32m${s}\u001b[39m`,
  red: (s: string) => `\u001b[31m${s}\u001b[39m`,
  yellow: (s: string) => `\u001b[33m${s}\u001b[39m`,
  cyan: (s: string) => `\u001b[36m${s}\u001b[39m`,
  bold: (s: string) => `\u001b[1m${s}\u001b[22m`,
};
type Paint = typeof paint;
const plain: Paint = { dim: (s) => s, green: (s) => s, red: (s) => s, yellow: (s) => s, cyan: (s) => s, bold: (s) => s };

export function createProgressPrinter(options: ProgressOptions): { onEvent(event: TaskEvent): void } {
  const started = options.now();
  const p = options.color ? paint : plain;
  const label = options.runnerLabel ?? ((runner: string) => runner);
  const width = { task: 8 };
  const planRound = new Map<string, number>();
  const line = (taskId: string, text: string): void => {
    width.task = Math.max(width.task, taskId.length);
    const elapsed = formatDuration(options.now() - started).padStart(7);
    options.write(`${p.dim(elapsed)}  ${p.bold(taskId.padEnd(width.task))}  ${text}\n`);
  };
  return {
    onEvent(event) {
      switch (event.type) {
        case 'task.state': {
          const state = event.state.padEnd(21);
          const colored =
            event.state === 'DONE'
              ? p.green(state)
              : event.state === 'FAILED' || event.state === 'ABORTED'
                ? p.red(state)
                : event.state === 'AWAITING_HUMAN_REVIEW' || event.state === 'PAUSED'
                  ? p.yellow(state)
                  : p.cyan(state);
          const step = event.stepId !== undefined && event.stepCount ? `step ${event.stepId} (${(event.stepIndex ?? 0) + 1}/${event.stepCount})  ` : '';
          // PLANNED carries the first step's attempt; what it closes is the plan's last round.
          if (event.state === 'PLANNING' || event.state === 'PLAN_REVIEW') planRound.set(event.taskId, event.attempt);
          const round = planRound.get(event.taskId);
          const attempt =
            event.state === 'PLANNED'
              ? round === undefined
                ? ''
                : `plan round ${round}`
              : event.attempt > 0 && event.state !== 'DONE'
                ? `attempt ${event.attempt}`
                : '';
          const reason = event.reason ? `  ${p.yellow(`— ${event.reason}`)}` : '';
          line(event.taskId, `${colored} ${step}${attempt}${reason}`);
          return;
        }
        case 'role.started':
          return;
        case 'role.refused': {
          const step = event.stepId ? `${event.stepId} ` : '';
          line(event.taskId, `  ${step}${event.role.padEnd(13)} ${p.red(`✗ no model (${event.kind})`)}`);
          options.write(`${' '.repeat(13 + width.task)}${p.dim(`│ ${event.reason.slice(0, 300)}`)}
`);
          return;
        }
        case 'role.finished': {
          const model = `${event.model} ${p.dim(`[${label(event.runner)}]`)}`;
          const tokens = `${event.tokens_estimated ? '~' : ''}${event.tokens_input}→${event.tokens_estimated ? '~' : ''}${event.tokens_output} tok`;
          const tries = event.tries > 1 ? `, ${event.tries} tries` : '';
          const stats = p.dim(`(${tokens}, ${event.tokens_estimated ? '~' : ''}${formatUsd(event.cost_usd)}, ${formatDuration(event.latency_ms)}${tries})`);
          const step = event.stepId ? `${event.stepId} ` : '';
          const sentBack = event.verdict === 'needs_changes' || event.verdict === 'needs_revision' || event.verdict === 'rejected';
          const outcome = !event.success
            ? p.red(`✗ ${event.error_kind ?? 'failed'}: ${event.error ?? ''}`)
            : sentBack
              ? p.yellow(`↺ ${event.verdict ?? ''}`)
              : p.green(`✓ ${event.verdict ?? 'ok'}`);
          line(event.taskId, `  ${step}${event.role.padEnd(13)} ${model}  ${outcome} ${stats}`);
          if (event.detail) options.write(`${' '.repeat(13 + width.task)}${p.yellow(`│ ${event.detail}`)}\n`);
          return;
        }
        case 'gate.check': {
          // The base is measured to compare with, not judged: its result gets no ✓ or ✗.
          const what = `${event.check}${event.base ? ' on the base' : ''}`;
          const text =
            event.phase === 'started'
              ? p.dim(`${what} …`)
              : `${event.base ? p.dim('·') : event.passed ? p.green('✓') : p.red('✗')} ${what} ${p.dim(`(${formatDuration(event.duration_ms ?? 0)})`)}`;
          line(event.taskId, `  ${event.stepId} quality gate   ${text}`);
          return;
        }
        case 'gate.finished': {
          const outcome = event.passed ? p.green(`✓ ${event.summary}`) : p.red(`✗ ${event.summary}`);
          line(event.taskId, `  ${event.stepId} quality gate   ${outcome} ${p.dim(`(${formatDuration(event.duration_ms)})`)}`);
          for (const check of event.checks) {
            if (check.passed || !check.excerpt) continue;
            for (const text of check.excerpt.split('\n').slice(-excerptLines))
              options.write(`${' '.repeat(13 + width.task)}${p.dim(`│ ${text.slice(0, 160)}`)}\n`);
          }
          return;
        }
        case 'step.committed':
          line(event.taskId, `  ${event.stepId} committed ${p.bold(event.sha.slice(0, 10))} on ${event.branch}`);
          return;
        case 'task.finished':
          line(
            event.taskId,
            `finished ${event.state} in ${formatDuration(event.duration_ms)}, ${formatCost(event.cost_usd, event.cost_estimated_usd)}${event.branch ? `, branch ${event.branch}` : ''}`,
          );
          return;
      }
    },
  };
}

export interface SummaryRow {
  readonly outcome: TaskOutcome;
  readonly steps: string;
  readonly calls: number;
}

/** The closing table of a run. */
export function formatSummary(rows: readonly SummaryRow[]): string {
  const header = ['TASK', 'STATE', 'STEPS', 'MODEL CALLS', 'COST', 'TIME', 'BRANCH'];
  const body = rows.map((r) => [
    r.outcome.id,
    r.outcome.state,
    r.steps,
    String(r.calls),
    formatCost(r.outcome.costUsd, r.outcome.estimatedCostUsd),
    formatDuration(r.outcome.durationMs),
    r.outcome.branch ?? '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  const render = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const lines = [render(header), ...body.map(render)];
  for (const r of rows) {
    if (r.outcome.reason && r.outcome.state !== 'DONE') lines.push(`  ${r.outcome.id}: ${r.outcome.reason}`);
  }
  return `${lines.join('\n')}\n`;
}
