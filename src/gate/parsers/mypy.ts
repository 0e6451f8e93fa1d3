import type { OutputParser } from './parsed-output.js';
import { relativePath, withoutRoot } from './paths.js';
import { parseDiagnosticLines } from './text-diagnostics.js';

const DIAGNOSTIC = /^(.+?):(\d+):(?:(\d+):)? (error|warning): (.*?)(?:\s+\[([\w-]+)\])?$/;

/**
 * mypy's default output, `file:line[:col]: error: message  [code]`. Notes are hints attached to an
 * error, not findings of their own, so they are skipped.
 */
export const parseMypy: OutputParser = ({ text, root }) =>
  parseDiagnosticLines(
    text,
    (line) => {
      const match = DIAGNOSTIC.exec(line);
      if (!match) return undefined;
      return {
        warning: {
          rule: match[6] ?? 'mypy',
          file: relativePath(root, match[1] ?? ''),
          line: Number(match[2]),
          ...(match[3] === undefined ? {} : { column: Number(match[3]) }),
          message: withoutRoot(root, match[5] ?? ''),
          severity: match[4] === 'error' ? 'error' : 'warning',
        },
        takesContinuation: false,
      };
    },
    { tool: 'mypy', quiet: /^(.+?:\d+:(\d+:)? note: |Found \d+ errors? in|Success: no issues found)/ },
  );
