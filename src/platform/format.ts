/**
 * How tandem writes durations and money for people, the same in the CLI, Telegram, reports and
 * routing explanations. Low in the layers so that none of them reaches up into the CLI for it.
 */

export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1_000);
  return minutes < 60 ? `${minutes}m${String(seconds).padStart(2, '0')}s` : `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/** `$0.42`, or four decimals for an amount under a cent (`$0.0040`), so it does not read as nothing. */
export function formatUsd(usd: number): string {
  return `$${usd.toFixed(usd !== 0 && Math.abs(usd) < 0.01 ? 4 : 2)}`;
}

/**
 * A task's cost, with the part priced from estimated token counts (a runner that reports none) said
 * apart: `$0.42`, `$0.42 (~$0.10 estimated)`, or `~$0.42 (estimated)` when all of it is.
 */
export function formatCost(usd: number, estimatedUsd: number | undefined): string {
  const estimated = estimatedUsd ?? 0;
  if (estimated <= 0) return formatUsd(usd);
  if (estimated >= usd) return `~${formatUsd(usd)} (estimated)`;
  return `${formatUsd(usd)} (~${formatUsd(estimated)} estimated)`;
}
