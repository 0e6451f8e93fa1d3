import { stripVTControlCharacters } from 'node:util';
import { parsed, unreadable, type ParseResult, type Warning } from './parsed-output.js';

/** One diagnostic per line (plus continuation lines), as compilers and linters print them. */
export interface LineDiagnostic {
  readonly warning: Warning;
  /** Indented lines that follow belong to this diagnostic's message (tsc's elaborations). */
  readonly takesContinuation: boolean;
}

/**
 * Shared reader of line-oriented tool output: `match` turns a line into a diagnostic or nothing;
 * `quiet` recognizes the lines a clean or summarizing run prints, so that anything else with no
 * diagnostics reads as unknown output rather than as "no warnings".
 */
export function parseDiagnosticLines(
  text: string,
  match: (line: string) => LineDiagnostic | undefined,
  options: { readonly tool: string; readonly quiet: RegExp },
): ParseResult {
  const warnings: Warning[] = [];
  let last: { warning: Warning; takesContinuation: boolean } | undefined;
  let unknown = 0;
  // Colours (tsc --pretty, forced colour in CI) never belong to a message.
  for (const raw of stripVTControlCharacters(text).split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') continue;
    const diagnostic = match(line);
    if (diagnostic) {
      last = { warning: diagnostic.warning, takesContinuation: diagnostic.takesContinuation };
      warnings.push(diagnostic.warning);
      continue;
    }
    if (options.quiet.test(line.trim())) continue;
    if (last?.takesContinuation && /^\s/.test(line)) {
      const index = warnings.length - 1;
      const previous = warnings[index];
      if (previous) warnings[index] = { ...previous, message: `${previous.message}\n${line.trim()}` };
      continue;
    }
    unknown++;
  }
  if (warnings.length === 0 && unknown > 0) return unreadable(`none of its lines reads as a ${options.tool} diagnostic`);
  return parsed({ warnings });
}
