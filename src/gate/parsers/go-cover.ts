import { coverageFromFiles } from './coverage-totals.js';
import { parsed, unreadable, type OutputParser } from './parsed-output.js';
import { relativePath } from './paths.js';

const MODE = /^mode: (set|count|atomic)$/;
/** `file:startLine.startCol,endLine.endCol numStatements count`; the file may itself hold colons (a Windows path). */
const BLOCK = /^(.+):(\d+)\.(\d+),(\d+)\.(\d+) (\d+) (\d+)$/;
/** No block spans more lines than this; a larger one is corrupt, not code. */
const MAX_BLOCK_LINES = 100_000;

/**
 * Go's coverage profile (`go test -coverprofile`, modes set, count and atomic). Go counts
 * statements in blocks; the gate compares lines, so each block is spread over the lines it spans
 * (as gcov2lcov and other converters do) and a line is covered when any block on it ran: a line
 * where an uncovered branch begins is still covered by the block that leads to it. Blocks without
 * statements (an empty function body) cover nothing. Files keep the import-path names go writes
 * (`example.com/calc/calc.go`), which are the same in the base's worktree and the task's.
 */
export const parseGoCover: OutputParser = ({ text, root }) => {
  const lines = text.split('\n').map((l) => l.trim());
  const first = lines.findIndex((l) => l !== '');
  if (first === -1 || !MODE.test(lines[first] ?? ''))
    return unreadable('it does not start with "mode: set|count|atomic" (is this a `go test -coverprofile` file?)');
  const files = new Map<string, Map<number, boolean>>();
  for (const [index, line] of lines.entries()) {
    // Profiles of several runs concatenated repeat the mode line.
    if (index < first || line === '' || MODE.test(line)) continue;
    const block = BLOCK.exec(line);
    if (!block) return unreadable(`line ${index + 1} is not a coverage block ("${line.slice(0, 120)}")`);
    const start = Number(block[2]);
    const end = Number(block[4]);
    const statements = Number(block[6]);
    if (statements === 0 || start < 1 || end < start || end - start > MAX_BLOCK_LINES) continue;
    const file = goFile(root, block[1] ?? '');
    const hits = files.get(file) ?? new Map<number, boolean>();
    files.set(file, hits);
    const ran = Number(block[7]) > 0;
    for (let n = start; n <= end; n++) hits.set(n, ran || hits.get(n) === true);
  }
  const totals = new Map<string, { covered: number; total: number; uncovered: number[] }>();
  for (const [file, hits] of files) {
    const uncovered = [...hits.entries()].filter(([, ran]) => !ran).map(([n]) => n);
    totals.set(file, { covered: hits.size - uncovered.length, total: hits.size, uncovered });
  }
  return parsed({ coverage: coverageFromFiles(totals) });
};

/** Import-path names stay; `_/abs/dir/file.go` (a package outside any module) and absolute paths become worktree-relative. */
function goFile(root: string, name: string): string {
  if (name.startsWith('_/')) return relativePath(root, name.slice(1));
  if (name.startsWith('/') || /^[A-Za-z]:[\\/]/.test(name)) return relativePath(root, name);
  return name;
}
