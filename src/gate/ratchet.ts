import type { ApiExport, Coverage, TestCase, Warning } from './parsers/parsed-output.js';

/**
 * A warning's identity across the base and the step: rule, file and message with positions taken
 * out, so a warning that only moved (lines added above it) is the same warning, not a new one.
 */
export function warningIdentity(warning: Warning): string {
  const message = warning.message
    .replace(/\s+/g, ' ')
    .replace(/\b(line|lines|row|col|column)\s+\d+/gi, '$1 N')
    .replace(/:\d+(:\d+)?\b/g, ':N')
    .trim();
  return `${warning.rule}\u0000${warning.file}\u0000${message}`;
}

/**
 * The warnings the base did not have. Warnings are counted per identity, so one more copy of an
 * existing warning (the same unused import in a second place of one file) is new as well; among
 * equal copies the ones at lines the base did not have them at are reported.
 */
export function newWarnings(step: readonly Warning[], base: readonly Warning[]): Warning[] {
  const baseByIdentity = groupBy(base, warningIdentity);
  const fresh: Warning[] = [];
  for (const [identity, copies] of groupBy(step, warningIdentity)) {
    const before = baseByIdentity.get(identity) ?? [];
    const extra = copies.length - before.length;
    if (extra <= 0) continue;
    const baseLines = new Set(before.map((w) => w.line));
    const ordered = [...copies].sort((a, b) => Number(baseLines.has(a.line)) - Number(baseLines.has(b.line)) || a.line - b.line);
    fresh.push(...ordered.slice(0, extra));
  }
  return fresh.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.rule.localeCompare(b.rule));
}

export function fixedWarningCount(step: readonly Warning[], base: readonly Warning[]): number {
  const stepByIdentity = groupBy(step, warningIdentity);
  let fixed = 0;
  for (const [identity, copies] of groupBy(base, warningIdentity)) fixed += Math.max(0, copies.length - (stepByIdentity.get(identity)?.length ?? 0));
  return fixed;
}

export interface CoverageComparison {
  readonly before: number;
  readonly after: number;
  /** Percentage points lost; negative when coverage rose. */
  readonly drop: number;
  readonly dropped: boolean;
  /** Files whose coverage fell or that arrived with uncovered lines, worst first. */
  readonly files: readonly { file: string; before: number | undefined; after: number; uncovered: readonly number[] }[];
}

/** Line coverage of the step against the base; a drop beyond `tolerance` points regresses. */
export function compareCoverage(step: Coverage, base: Coverage, tolerance: number): CoverageComparison {
  const drop = Math.round((base.lines.pct - step.lines.pct) * 100) / 100;
  const files: { file: string; before: number | undefined; after: number; uncovered: readonly number[]; lost: number }[] = [];
  for (const [file, coverage] of Object.entries(step.files)) {
    const before = base.files[file];
    const uncoveredBefore = before === undefined ? 0 : before.lines.total - before.lines.covered;
    const uncoveredNow = coverage.lines.total - coverage.lines.covered;
    const worse = before === undefined ? uncoveredNow > 0 : coverage.lines.pct < before.lines.pct || uncoveredNow > uncoveredBefore;
    if (worse)
      files.push({ file, before: before?.lines.pct, after: coverage.lines.pct, uncovered: coverage.uncovered ?? [], lost: uncoveredNow - uncoveredBefore });
  }
  files.sort((a, b) => b.lost - a.lost || a.file.localeCompare(b.file));
  return {
    before: base.lines.pct,
    after: step.lines.pct,
    drop,
    dropped: drop > tolerance + 1e-9,
    files: files.map(({ lost: _lost, ...rest }) => rest),
  };
}

export interface ApiComparison {
  readonly removed: readonly ApiExport[];
  readonly changed: readonly ApiExport[];
  readonly added: readonly ApiExport[];
}

/** Exports of the base that the step no longer has (breaking), and those whose declaration changed. */
export function compareApi(step: readonly ApiExport[], base: readonly ApiExport[]): ApiComparison {
  const key = (e: ApiExport): string => `${e.entry}\u0000${e.name}`;
  const stepByKey = new Map(step.map((e) => [key(e), e]));
  const baseKeys = new Set(base.map(key));
  return {
    removed: base.filter((e) => !stepByKey.has(key(e))),
    changed: base.filter((e) => {
      const now = stepByKey.get(key(e));
      return now !== undefined && now.signature !== e.signature;
    }),
    added: step.filter((e) => !baseKeys.has(key(e))),
  };
}

/** Tests that passed at the base and are gone now: reported, since deleting a test makes a gate pass. */
export function removedTests(step: readonly TestCase[], base: readonly TestCase[]): TestCase[] {
  const names = new Set(step.map((t) => `${t.file ?? ''}\u0000${t.name}`));
  return base.filter((t) => t.status === 'passed' && !names.has(`${t.file ?? ''}\u0000${t.name}`));
}

/** `[3,4,5,9]` → `3-5, 9`. */
export function lineRanges(lines: readonly number[], max = 12): string {
  const sorted = [...new Set(lines)].sort((a, b) => a - b);
  const ranges: string[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const start = sorted[i] ?? 0;
    let end = start;
    while (sorted[i + 1] === end + 1) {
      end++;
      i++;
    }
    ranges.push(start === end ? `${start}` : `${start}-${end}`);
  }
  return ranges.length > max ? `${ranges.slice(0, max).join(', ')}, …` : ranges.join(', ');
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const item of items) map.set(key(item), [...(map.get(key(item)) ?? []), item]);
  return map;
}
