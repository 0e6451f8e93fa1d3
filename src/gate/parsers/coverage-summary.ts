import { parsed, unreadable, type OutputParser } from './parsed-output.js';
import { coverageFromFiles } from './coverage-totals.js';
import { isRecord, numberField, parseEmbeddedJson, percent, relativePath } from './paths.js';

/**
 * Istanbul's `coverage-summary.json` (`json-summary` reporter of nyc, Jest and Vitest): `total`
 * plus one entry per file, each with `lines: {total, covered, pct}`. The total is taken from the
 * file itself, since a summary may list only some files.
 */
export const parseCoverageSummary: OutputParser = ({ text, root }) => {
  const json = parseEmbeddedJson(text);
  if (!json.ok) return unreadable(json.reason);
  const summary = json.value;
  if (!isRecord(summary) || !isRecord(summary.total) || !isRecord(summary.total.lines))
    return unreadable('it has no "total.lines" (is this a coverage-summary.json?)');
  const files = new Map<string, { covered: number; total: number }>();
  for (const [key, entry] of Object.entries(summary)) {
    if (key === 'total' || !isRecord(entry) || !isRecord(entry.lines)) continue;
    files.set(relativePath(root, key), { covered: numberField(entry.lines, 'covered') ?? 0, total: numberField(entry.lines, 'total') ?? 0 });
  }
  const coverage = coverageFromFiles(files);
  const covered = numberField(summary.total.lines, 'covered') ?? 0;
  const total = numberField(summary.total.lines, 'total') ?? 0;
  return parsed({ coverage: { ...coverage, lines: { covered, total, pct: percent(covered, total) } } });
};
