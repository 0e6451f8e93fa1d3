import { stripVTControlCharacters } from 'node:util';
import type { CheckRun } from './run-check.js';

/**
 * The feedback an implementer gets for a check: a one-line header saying how it ended, then the
 * last `lines` lines of its output without colour codes.
 */
export function formatExcerpt(run: CheckRun, lines: number, timeoutMs: number): string {
  const tail = tailLines(cleanOutput(run.output), lines);
  return `${excerptHeader(run, timeoutMs)}\n${tail === '' ? '(no output)' : tail}`;
}

export function excerptHeader(run: CheckRun, timeoutMs: number): string {
  const after = `after ${seconds(run.durationMs)}`;
  const outcome = run.timedOut
    ? `timed out ${after} (limit ${seconds(timeoutMs)})`
    : run.cancelled
      ? `cancelled ${after}`
      : run.exitCode === null
        ? `killed by ${run.signalName ?? 'a signal'} ${after}`
        : `exit ${run.exitCode} ${after}`;
  return `$ ${firstLine(run.command)} → ${outcome}`;
}

/** A multi-line script (a YAML block) would break the one-line header; its first line names it. */
function firstLine(command: string): string {
  const lines = command.trim().split('\n');
  return lines.length > 1 ? `${(lines[0] ?? '').trimEnd()} …` : command.trim();
}

/**
 * Removes ANSI/VT sequences and replays carriage returns the way a terminal shows them (progress
 * bars redraw one line many times; only the last drawing is worth reading).
 */
export function cleanOutput(output: string): string {
  return stripVTControlCharacters(output)
    .split('\n')
    .map((line) => {
      const text = line.endsWith('\r') ? line.slice(0, -1) : line;
      return text.slice(text.lastIndexOf('\r') + 1);
    })
    .join('\n');
}

/** The last `count` lines, trailing blank lines ignored. */
export function tailLines(text: string, count: number): string {
  const lines = text.split('\n');
  while (lines.length > 0 && (lines[lines.length - 1] ?? '').trim() === '') lines.pop();
  return count <= 0 ? '' : lines.slice(-count).join('\n');
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
