import type { OutputParser } from './parsed-output.js';
import { relativePath, withoutRoot } from './paths.js';
import { parseDiagnosticLines } from './text-diagnostics.js';

const DIAGNOSTIC = /^(.+?):(\d+):(\d+): ([A-Z]+[0-9]+) (?:\[\*\] )?(.*)$/;

/**
 * flake8's default format `path:row:col: CODE message`, which pycodestyle, pyflakes and ruff's
 * `concise` format share (ruff marks fixable findings with `[*]`).
 */
export const parseFlake8: OutputParser = ({ text, root }) =>
  parseDiagnosticLines(
    text,
    (line) => {
      const match = DIAGNOSTIC.exec(line);
      if (!match) return undefined;
      const code = match[4] ?? 'flake8';
      return {
        warning: {
          rule: code,
          file: relativePath(root, match[1] ?? ''),
          line: Number(match[2]),
          column: Number(match[3]),
          message: withoutRoot(root, match[5] ?? ''),
          severity: /^[EF]/.test(code) ? 'error' : 'warning',
        },
        takesContinuation: false,
      };
    },
    { tool: 'flake8', quiet: /^(Found \d+ errors?\.|\[\*\] \d+ fixable|No fixes available|All checks passed!)/ },
  );
