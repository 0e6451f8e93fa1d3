/**
 * Pure formatting of benchmark results: each figure is printed next to its target with PASS/MISS,
 * as an aligned table or as JSON. Nothing here measures, so it is unit-tested exactly.
 */

export type Unit = 'ms' | 'ratio' | 'B' | 'tasks/s' | 'count';

export interface Target {
  readonly op: '<=' | '>=';
  readonly value: number;
}

export interface Figure {
  /** The mode it was measured in, e.g. `memory` or `file`. */
  readonly mode: string;
  /** Stable id for JSON consumers, e.g. `overhead.p50`. */
  readonly metric: string;
  readonly label: string;
  readonly value: number;
  readonly unit: Unit;
  readonly target?: Target | undefined;
  readonly note?: string | undefined;
}

export type Verdict = 'PASS' | 'MISS' | '-';

export function verdictOf(figure: Pick<Figure, 'value' | 'target'>): Verdict {
  const { target, value } = figure;
  if (target === undefined) return '-';
  const met = target.op === '<=' ? value <= target.value : value >= target.value;
  return met ? 'PASS' : 'MISS';
}

export function formatValue(value: number, unit: Unit): string {
  switch (unit) {
    case 'ms':
      return `${value < 10 ? value.toFixed(3) : value.toFixed(1)} ms`;
    case 'ratio':
      return value.toFixed(3);
    case 'B':
      return formatBytes(value);
    case 'tasks/s':
      return `${value.toFixed(1)} tasks/s`;
    case 'count':
      return Number.isInteger(value) ? String(value) : value.toFixed(2);
  }
}

/** Decimal kilobytes (1 KB = 1000 B), the unit the targets use. */
export function formatBytes(bytes: number): string {
  const sign = bytes < 0 ? '-' : '';
  const abs = Math.abs(bytes);
  if (abs < 1000) return `${sign}${Math.round(abs)} B`;
  if (abs < 1_000_000) return `${sign}${(abs / 1000).toFixed(1)} KB`;
  return `${sign}${(abs / 1_000_000).toFixed(2)} MB`;
}

export function formatTarget(target: Target | undefined, unit: Unit): string {
  if (target === undefined) return '';
  return `${target.op === '<=' ? '≤' : '≥'} ${formatValue(target.value, unit)}`;
}

export type Align = 'left' | 'right';

/** Columns padded to their widest cell; a dashed rule under the header. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[], align: readonly Align[] = []): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    widths
      .map((width, column) => {
        const cell = cells[column] ?? '';
        return align[column] === 'right' ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function figuresTable(figures: readonly Figure[]): string {
  const rows = figures.map((f) => [f.mode, f.label, formatValue(f.value, f.unit), formatTarget(f.target, f.unit), verdictOf(f), f.note ?? '']);
  return formatTable(['mode', 'figure', 'value', 'target', 'verdict', 'note'], rows, ['left', 'left', 'right', 'left', 'left', 'left']);
}

export interface FigureJson {
  readonly mode: string;
  readonly metric: string;
  readonly label: string;
  readonly value: number;
  readonly unit: Unit;
  readonly target: Target | null;
  readonly verdict: Verdict;
  readonly note: string | null;
}

export function figureJson(figure: Figure): FigureJson {
  return {
    mode: figure.mode,
    metric: figure.metric,
    label: figure.label,
    value: figure.value,
    unit: figure.unit,
    target: figure.target ?? null,
    verdict: verdictOf(figure),
    note: figure.note ?? null,
  };
}

export function countVerdicts(figures: readonly Figure[]): { pass: number; miss: number } {
  let pass = 0;
  let miss = 0;
  for (const figure of figures) {
    const verdict = verdictOf(figure);
    if (verdict === 'PASS') pass++;
    else if (verdict === 'MISS') miss++;
  }
  return { pass, miss };
}
