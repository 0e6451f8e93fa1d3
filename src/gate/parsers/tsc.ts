import type { OutputParser } from './parsed-output.js';
import { relativePath, withoutRoot } from './paths.js';
import { parseDiagnosticLines } from './text-diagnostics.js';

const PLAIN = /^(.+?)\((\d+),(\d+)\): (error|warning|message) (TS\d+): (.*)$/;
const PRETTY = /^(.+?):(\d+):(\d+) - (error|warning|message) (TS\d+): (.*)$/;
const GLOBAL = /^(error|warning|message) (TS\d+): (.*)$/;

/**
 * `tsc --noEmit` with `--pretty false` (the default when not on a terminal): `file(line,col): error
 * TS1234: message`, elaborations indented below. The `--pretty` form is read too, without its code
 * frames.
 */
export const parseTsc: OutputParser = ({ text, root }) =>
  parseDiagnosticLines(
    text,
    (line) => {
      const located = PLAIN.exec(line) ?? PRETTY.exec(line);
      if (located) {
        return {
          warning: {
            rule: located[5] ?? 'tsc',
            file: relativePath(root, located[1] ?? ''),
            line: Number(located[2]),
            column: Number(located[3]),
            message: withoutRoot(root, located[6] ?? ''),
            severity: located[4] === 'error' ? 'error' : located[4] === 'warning' ? 'warning' : 'info',
          },
          takesContinuation: true,
        };
      }
      const global = GLOBAL.exec(line);
      if (global) {
        return {
          warning: {
            rule: global[2] ?? 'tsc',
            file: '',
            line: 0,
            message: withoutRoot(root, global[3] ?? ''),
            severity: global[1] === 'error' ? 'error' : 'warning',
          },
          takesContinuation: true,
        };
      }
      return undefined;
    },
    // Pretty output's code frames (`12 const x…`, `   ~~~`) and summaries are not diagnostics.
    { tool: 'tsc', quiet: /^(Found \d+ errors?|\d+\s|~+$|\s*$|Errors\s+Files|Version \d)/ },
  );
