import type { Coverage, FileCoverage } from './parsed-output.js';
import { percent } from './paths.js';

/** Per-file line hits → the normalized coverage, totals summed over the files. */
export function coverageFromFiles(files: ReadonlyMap<string, { covered: number; total: number; uncovered?: readonly number[] }>): Coverage {
  let covered = 0;
  let total = 0;
  const out: Record<string, FileCoverage> = {};
  for (const [file, lines] of [...files.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    covered += lines.covered;
    total += lines.total;
    out[file] = {
      lines: { covered: lines.covered, total: lines.total, pct: percent(lines.covered, lines.total) },
      ...(lines.uncovered === undefined ? {} : { uncovered: [...lines.uncovered].sort((a, b) => a - b) }),
    };
  }
  return { lines: { covered, total, pct: percent(covered, total) }, files: out };
}
