import { parsed, unreadable, type OutputParser, type Warning } from './parsed-output.js';
import { isRecord, numberField, relativePath, stringField, withoutRoot } from './paths.js';

/**
 * `ruff check --output-format json` (a list) or `json-lines` (one object a line). A syntax error
 * has no code; it is kept under the rule `syntax-error` so it can never be lost.
 */
export const parseRuffJson: OutputParser = ({ text, root }) => {
  const trimmed = text.trim();
  if (trimmed === '') return unreadable('the output is empty');
  let entries: unknown[];
  try {
    const value: unknown = trimmed.startsWith('[')
      ? JSON.parse(trimmed)
      : trimmed
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l) => JSON.parse(l) as unknown);
    if (!Array.isArray(value)) return unreadable('it is not a list of diagnostics (is this `ruff check --output-format json` output?)');
    entries = value;
  } catch (error) {
    return unreadable(`it is not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  const warnings: Warning[] = [];
  for (const entry of entries) {
    if (!isRecord(entry) || typeof entry.filename !== 'string')
      return unreadable('a diagnostic has no "filename" (is this `ruff check --output-format json` output?)');
    const location = isRecord(entry.location) ? entry.location : {};
    const column = numberField(location, 'column');
    warnings.push({
      rule: stringField(entry, 'code') ?? 'syntax-error',
      file: relativePath(root, entry.filename),
      line: numberField(location, 'row') ?? 0,
      ...(column === undefined ? {} : { column }),
      message: withoutRoot(root, stringField(entry, 'message') ?? ''),
      severity: 'error',
    });
  }
  return parsed({ warnings });
};
