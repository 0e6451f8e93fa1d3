import type { TaskEvent, TaskState } from '../model/task-events.js';
import { formatDuration, formatUsd } from '../platform/format.js';

/**
 * The live view of a run at a terminal: one status line per running task (state, step, role,
 * model, elapsed time, tokens, cost) kept at the bottom and redrawn in place, the event lines of the
 * progress printer scrolling above it. Only for a TTY; elsewhere the plain lines are all there is.
 */
export interface LiveDisplay {
  /** Updates the status lines from a lifecycle event. */
  onEvent(event: TaskEvent): void;
  /** Text for stdout, written above the status lines. */
  write(text: string): void;
  /** Text for stderr (warnings, notices), written above the status lines too. */
  writeErr(text: string): void;
  /** Removes the status lines and stops redrawing. */
  close(): void;
}

export interface LiveDisplayOptions {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly now: () => number;
  /** Width of the terminal: a status line never wraps (that would break redrawing in place). */
  readonly columns: () => number;
  readonly color: boolean;
  /** How often the elapsed times are redrawn. */
  readonly refreshMs?: number;
}

interface TaskStatus {
  state: TaskState;
  step: string;
  attempt: number;
  startedAt: number;
  role?: { name: string; model: string; since: number } | undefined;
  tokensIn: number;
  tokensOut: number;
  estimated: boolean;
  costUsd: number;
}

const resting = new Set<TaskState>(['DONE', 'FAILED', 'ABORTED', 'AWAITING_HUMAN_REVIEW']);

function tokens(n: number): string {
  return n >= 1_000 ? `${(n / 1_000).toFixed(1)}k` : String(n);
}

/** Cuts a line to `width` characters (status lines are plain text, colored whole). */
function fit(text: string, width: number): string {
  const chars = [...text];
  return chars.length <= width ? text : `${chars.slice(0, Math.max(0, width - 1)).join('')}…`;
}

function formatStatusLine(id: string, status: TaskStatus, now: number): string {
  const role = status.role ? `${status.role.name} ${status.role.model} ${formatDuration(now - status.role.since)}` : '-';
  const tok = `${status.estimated ? '~' : ''}${tokens(status.tokensIn)}→${tokens(status.tokensOut)} tok`;
  const attempt = status.attempt > 0 ? `attempt ${status.attempt}` : '';
  return `▸ ${id}  ${status.state}  ${[status.step, attempt].filter((s) => s !== '').join(' ') || '-'}  ${role}  ${formatDuration(now - status.startedAt)}  ${tok}  ${status.estimated ? '~' : ''}${formatUsd(status.costUsd)}`;
}

export function createLiveDisplay(options: LiveDisplayOptions): LiveDisplay {
  const tasks = new Map<string, TaskStatus>();
  let drawn = 0;
  let closed = false;

  const clear = (): void => {
    // Back to the first status line, then erase to the end of the screen.
    if (drawn > 0) options.out(`\u001b[${drawn}F\u001b[0J`);
    drawn = 0;
  };
  const draw = (): void => {
    if (closed) return;
    const now = options.now();
    const width = Math.max(20, options.columns() - 1);
    const lines = [...tasks].map(([id, status]) => fit(formatStatusLine(id, status, now), width));
    if (lines.length === 0) return;
    const body = lines.map((l) => (options.color ? `\u001b[2m${l}\u001b[22m` : l)).join('\n');
    options.out(`${body}\n`);
    drawn = lines.length;
  };
  const redraw = (): void => {
    clear();
    draw();
  };
  const timer = setInterval(redraw, options.refreshMs ?? 1_000);
  timer.unref();

  const statusOf = (event: TaskEvent): TaskStatus => {
    let status = tasks.get(event.taskId);
    if (!status) {
      status = { state: 'NEW', step: '', attempt: 0, startedAt: event.at, tokensIn: 0, tokensOut: 0, estimated: false, costUsd: 0 };
      tasks.set(event.taskId, status);
    }
    return status;
  };

  return {
    onEvent(event) {
      if (closed) return;
      switch (event.type) {
        case 'task.state': {
          if (resting.has(event.state)) {
            tasks.delete(event.taskId);
            break;
          }
          const status = statusOf(event);
          status.state = event.state;
          status.step = event.stepId !== undefined && event.stepCount ? `${event.stepId} (${(event.stepIndex ?? 0) + 1}/${event.stepCount})` : '';
          status.attempt = event.attempt;
          break;
        }
        case 'role.started':
          statusOf(event).role = { name: event.role, model: event.model, since: options.now() };
          break;
        case 'role.finished': {
          const status = statusOf(event);
          status.role = undefined;
          status.tokensIn += event.tokens_input;
          status.tokensOut += event.tokens_output;
          status.estimated ||= event.tokens_estimated;
          status.costUsd += event.cost_usd;
          break;
        }
        case 'gate.check':
          // The running check takes the role's place on the status line: `gate tests 2m3s`.
          statusOf(event).role =
            event.phase === 'started' ? { name: 'gate', model: `${event.check}${event.base ? ' (base)' : ''}`, since: options.now() } : undefined;
          break;
        case 'gate.finished':
          statusOf(event).role = undefined;
          break;
        case 'task.finished':
          tasks.delete(event.taskId);
          break;
        default:
          return;
      }
      redraw();
    },
    write(text) {
      clear();
      options.out(text);
      draw();
    },
    writeErr(text) {
      clear();
      options.err(text);
      draw();
    },
    close() {
      clearInterval(timer);
      clear();
      closed = true;
    },
  };
}
