import type { TaskEvent } from '../model/task-events.js';
import type { TaskOutcome } from '../runtime/task-outcome.js';
import type { CliIO } from './io.js';

/**
 * Color only for a person at a terminal: never with `--no-color` or NO_COLOR (https://no-color.org:
 * present and not empty), never when the output goes to a file or a pipe.
 */
export function useColor(io: Pick<CliIO, 'env'>, stream: { readonly isTTY?: boolean | undefined }, flags: { readonly color?: boolean }): boolean {
  if (flags.color === false) return false;
  const noColor = io.env['NO_COLOR'];
  if (noColor !== undefined && noColor !== '') return false;
  return stream.isTTY === true;
}

const levelNames: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warning', 50: 'error', 60: 'fatal' };
/** Fields that are the line's frame, not its content. */
const frameKeys = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'trace_id', 'span_id', 'task', 'step', 'role', 'model', 'err']);

/**
 * The log lines a person sees on stderr: `tandem: warning: <message> [task T1 · step S1] (<error>;
 * key=value …)`. The JSON lines go to the run's log file (`<state dir>/logs/tandem.jsonl`).
 */
export function humanLogStream(write: (text: string) => void, color: boolean): { write(line: string): void } {
  return {
    write(line) {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        write(line);
        return;
      }
      const level = typeof entry['level'] === 'number' ? entry['level'] : 30;
      const name = levelNames[level] ?? 'log';
      const where = (['task', 'step', 'role', 'model'] as const)
        .filter((key) => entry[key] !== undefined && entry[key] !== null)
        .map((key) => `${key} ${String(entry[key] as string)}`)
        .join(' · ');
      const err = entry['err'] as { message?: unknown } | undefined;
      const details = [
        ...(err && typeof err.message === 'string' ? [err.message] : []),
        ...Object.entries(entry)
          .filter(([key, value]) => !frameKeys.has(key) && value !== undefined && value !== null)
          .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`),
      ];
      const label = color ? (level >= 50 ? `\u001b[31m${name}\u001b[39m` : level >= 40 ? `\u001b[33m${name}\u001b[39m` : name) : name;
      write(`tandem: ${label}: ${String(entry['msg'])}${where ? ` [${where}]` : ''}${details.length > 0 ? ` (${details.join('; ')})` : ''}\n`);
    },
  };
}

/** Version of the `--json` event stream (docs/cli-json.md); bumped when a field changes meaning or goes. */
const JSON_STREAM_VERSION = 1;

/** One lifecycle event of `--json`: the event as published, with `v`. */
export function jsonEventLine(event: TaskEvent): string {
  return `${JSON.stringify({ v: JSON_STREAM_VERSION, ...event })}\n`;
}

/** The last line of `--json`: every task's outcome and the exit code. */
export function jsonFinishedLine(outcomes: readonly TaskOutcome[], exitCode: number, interrupted: boolean): string {
  return `${JSON.stringify({ v: JSON_STREAM_VERSION, type: 'run.finished', at: Date.now(), exit_code: exitCode, interrupted, tasks: outcomes })}\n`;
}
