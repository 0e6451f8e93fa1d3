import { parsed, unreadable, type OutputParser } from './parsed-output.js';
import { coverageFromFiles } from './coverage-totals.js';
import { relativePath } from './paths.js';

/**
 * lcov tracefiles (`SF:` … `end_of_record`). Line data (`DA:line,hits`) is preferred over the
 * `LF`/`LH` summary, which some writers get wrong (coverage.py 6 counts `DA:0` for empty modules).
 */
export const parseLcov: OutputParser = ({ text, root }) => {
  const files = new Map<string, { covered: number; total: number; uncovered: number[] }>();
  let file: string | undefined;
  let hits = new Map<number, number>();
  let summary: { found?: number; hit?: number } = {};
  let records = 0;
  const finish = (): void => {
    if (file === undefined) return;
    const lines = [...hits.entries()].filter(([line]) => line > 0);
    const entry =
      lines.length > 0 || summary.found === undefined
        ? { covered: lines.filter(([, n]) => n > 0).length, total: lines.length, uncovered: lines.filter(([, n]) => n === 0).map(([line]) => line) }
        : { covered: Math.min(summary.hit ?? 0, summary.found), total: summary.found, uncovered: [] };
    const previous = files.get(file);
    // The same file in two records (several test processes): a line counts as covered if any covered it.
    files.set(file, previous === undefined ? entry : mergeFile(previous, entry));
    records++;
    file = undefined;
  };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('SF:')) {
      finish();
      file = relativePath(root, line.slice(3));
      hits = new Map();
      summary = {};
    } else if (line.startsWith('DA:')) {
      const [lineNo, count] = line.slice(3).split(',');
      const n = Number(lineNo);
      if (Number.isInteger(n)) hits.set(n, Math.max(hits.get(n) ?? 0, Number(count) || 0));
    } else if (line.startsWith('LF:')) {
      summary.found = Number(line.slice(3)) || 0;
    } else if (line.startsWith('LH:')) {
      summary.hit = Number(line.slice(3)) || 0;
    } else if (line === 'end_of_record') {
      finish();
    }
  }
  finish();
  if (records === 0) return unreadable('it has no lcov records ("SF:" … "end_of_record")');
  return parsed({ coverage: coverageFromFiles(files) });
};

function mergeFile(a: { covered: number; total: number; uncovered: number[] }, b: { covered: number; total: number; uncovered: number[] }) {
  const uncovered = a.uncovered.filter((line) => b.uncovered.includes(line));
  const total = Math.max(a.total, b.total);
  return { covered: total - uncovered.length, total, uncovered };
}
