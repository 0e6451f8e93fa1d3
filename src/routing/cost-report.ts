import { formatUsd } from '../platform/format.js';
import type { LedgerEntry } from './cost-ledger.js';
import { fromNanos, toNanos, type ModelRegistry } from './model-registry.js';

/**
 * `tandem cost`: spend from the ledger, grouped, with seed 002's comparison ("Claude-only … 70%
 * cheaper") computed from the real token counts of the same calls at the strongest model's price.
 * Calls whose tokens were estimated are summed apart and labelled, never added to real figures.
 */

export const costGroupings = ['model', 'role', 'area', 'task'] as const;
export type CostGroupBy = (typeof costGroupings)[number];

interface CostRow {
  readonly key: string;
  readonly calls: number;
  readonly tokensIn: number;
  readonly tokensOut: number;
  readonly usd: number;
  /** The same tokens at the strongest model's list price. */
  readonly strongestUsd: number;
}

interface CostSection {
  readonly rows: readonly CostRow[];
  readonly total: CostRow;
}

export interface CostReport {
  readonly by: CostGroupBy;
  readonly filter: { readonly task?: string | undefined; readonly since?: string | undefined };
  readonly strongest?: { readonly name: string; readonly model: string } | undefined;
  /** Calls with token counts the backend reported. */
  readonly real: CostSection;
  /** Calls whose token counts were estimated: figures are estimates. */
  readonly estimated: CostSection;
  /** From real token counts only; undefined without a strongest model or without real calls. */
  readonly savings?: { readonly strongestUsd: number; readonly actualUsd: number; readonly savedUsd: number; readonly percent: number } | undefined;
  /** Calls where the CLI reported its own cost: its figure next to tokens × the configured price. */
  readonly reconciliation?: { readonly calls: number; readonly reportedUsd: number; readonly listUsd: number } | undefined;
}

function keyOf(entry: LedgerEntry, by: CostGroupBy): string {
  switch (by) {
    case 'model':
      return `${entry.provider}/${entry.model}`;
    case 'role':
      return entry.role;
    case 'area':
      return entry.area ?? 'unknown';
    case 'task':
      return entry.task_id;
  }
}

interface Tally {
  calls: number;
  tokensIn: number;
  tokensOut: number;
  nanos: number;
  strongestNanos: number;
}

const emptyTally = (): Tally => ({ calls: 0, tokensIn: 0, tokensOut: 0, nanos: 0, strongestNanos: 0 });

function section(entries: readonly LedgerEntry[], by: CostGroupBy, strongestNanos: (e: LedgerEntry) => number): CostSection {
  const groups = new Map<string, Tally>();
  const total = emptyTally();
  for (const e of entries) {
    const key = keyOf(e, by);
    let t = groups.get(key);
    if (!t) groups.set(key, (t = emptyTally()));
    for (const tally of [t, total]) {
      tally.calls++;
      tally.tokensIn += e.tokens_input;
      tally.tokensOut += e.tokens_output;
      tally.nanos += toNanos(e.usd);
      tally.strongestNanos += strongestNanos(e);
    }
  }
  const row = (key: string, t: Tally): CostRow => ({
    key,
    calls: t.calls,
    tokensIn: t.tokensIn,
    tokensOut: t.tokensOut,
    usd: fromNanos(t.nanos),
    strongestUsd: fromNanos(t.strongestNanos),
  });
  const rows = [...groups].map(([key, t]) => row(key, t)).sort((a, b) => b.usd - a.usd || a.key.localeCompare(b.key));
  return { rows, total: row('total', total) };
}

export function buildCostReport(
  entries: readonly LedgerEntry[],
  options: { by: CostGroupBy; task?: string | undefined; since?: number | undefined; registry: ModelRegistry },
): CostReport {
  const picked = entries.filter((e) => (options.task === undefined || e.task_id === options.task) && (options.since === undefined || e.at >= options.since));
  const strongest = options.registry.strongest();
  const onStrongest = (e: LedgerEntry): number => (strongest ? toNanos(options.registry.cost(strongest.name, e.tokens_input, e.tokens_output)) : 0);
  const real = section(
    picked.filter((e) => !e.estimated),
    options.by,
    onStrongest,
  );
  const estimated = section(
    picked.filter((e) => e.estimated),
    options.by,
    onStrongest,
  );
  const reconciled = picked.filter((e) => e.reported_usd !== undefined && e.list_usd !== undefined);
  const savings =
    strongest && real.total.calls > 0
      ? {
          strongestUsd: real.total.strongestUsd,
          actualUsd: real.total.usd,
          savedUsd: fromNanos(toNanos(real.total.strongestUsd) - toNanos(real.total.usd)),
          percent: real.total.strongestUsd > 0 ? Math.round((1 - real.total.usd / real.total.strongestUsd) * 1000) / 10 : 0,
        }
      : undefined;
  return {
    by: options.by,
    filter: { task: options.task, since: options.since === undefined ? undefined : new Date(options.since).toISOString() },
    strongest: strongest ? { name: strongest.name, model: `${strongest.provider}/${strongest.model}` } : undefined,
    real,
    estimated,
    savings,
    reconciliation:
      reconciled.length > 0
        ? {
            calls: reconciled.length,
            reportedUsd: fromNanos(reconciled.reduce((s, e) => s + toNanos(e.reported_usd ?? 0), 0)),
            listUsd: fromNanos(reconciled.reduce((s, e) => s + toNanos(e.list_usd ?? 0), 0)),
          }
        : undefined,
  };
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const render = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [render(header), ...rows.map(render)].join('\n');
}

const count = (n: number): string => n.toLocaleString('en-US');
const calls = (n: number): string => `${count(n)} call${n === 1 ? '' : 's'}`;

export function formatCostReport(report: CostReport): string {
  const out: string[] = [];
  const scope = [report.filter.task ? `task ${report.filter.task}` : 'all tasks', report.filter.since ? `since ${report.filter.since}` : undefined]
    .filter(Boolean)
    .join(', ');
  const strongestHeader = report.strongest ? `ON ${report.strongest.name.toUpperCase()}` : undefined;
  const cells = (r: CostRow, estimated: boolean): string[] => [
    r.key,
    count(r.calls),
    `${estimated ? '~' : ''}${count(r.tokensIn)}`,
    `${estimated ? '~' : ''}${count(r.tokensOut)}`,
    `${estimated ? '~' : ''}${formatUsd(r.usd)}`,
    ...(strongestHeader ? [`${estimated ? '~' : ''}${formatUsd(r.strongestUsd)}`] : []),
  ];
  const header = [report.by.toUpperCase(), 'CALLS', 'TOKENS IN', 'TOKENS OUT', 'SPEND', ...(strongestHeader ? [strongestHeader] : [])];
  out.push(`Spend by ${report.by} (${scope}), from the recorded calls:`);
  if (report.real.total.calls === 0) out.push('no calls with reported token counts');
  else out.push(table(header, [...report.real.rows.map((r) => cells(r, false)), cells({ ...report.real.total, key: 'TOTAL' }, false)]));
  if (report.savings && report.strongest) {
    const s = report.savings;
    out.push(
      '',
      `On ${report.strongest.name} (${report.strongest.model}) the same ${calls(report.real.total.calls)} would have cost ${formatUsd(s.strongestUsd)}; ` +
        `actual ${formatUsd(s.actualUsd)}: ${s.savedUsd >= 0 ? `saved ${formatUsd(s.savedUsd)} (${s.percent}%)` : `${formatUsd(-s.savedUsd)} more`}. From real token counts.`,
    );
  }
  if (report.reconciliation) {
    const r = report.reconciliation;
    const diff = r.listUsd > 0 ? Math.round(((r.reportedUsd - r.listUsd) / r.listUsd) * 1000) / 10 : 0;
    out.push(
      '',
      `The CLIs reported ${formatUsd(r.reportedUsd)} for ${calls(r.calls)}; their tokens at the configured prices give ${formatUsd(r.listUsd)} (${diff >= 0 ? '+' : ''}${diff}%). Spend uses the CLIs' figures.`,
    );
  }
  if (report.estimated.total.calls > 0) {
    out.push(
      '',
      `ESTIMATED (the runner reported no token counts; not included above):`,
      table(header, [...report.estimated.rows.map((r) => cells(r, true)), cells({ ...report.estimated.total, key: 'TOTAL (estimated)' }, true)]),
    );
  }
  return `${out.join('\n')}\n`;
}
