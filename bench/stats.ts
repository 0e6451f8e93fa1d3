/**
 * Pure statistics for the benchmark. Percentiles interpolate linearly between the two nearest
 * ranks (the R-7 / NumPy default), so p50 of an even-sized sample is the mean of the middle pair.
 */

export interface Summary {
  readonly n: number;
  readonly min: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/** `p` in [0, 100] of an ascending sample. Throws on an empty sample: a figure from nothing is a bug. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of an empty sample');
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  const rank = (p / 100) * (sorted.length - 1);
  const lower = Math.floor(rank);
  const upper = Math.ceil(rank);
  const low = sorted[lower] as number;
  const high = sorted[upper] as number;
  return low + (high - low) * (rank - lower);
}

export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new RangeError('summary of an empty sample');
  const sorted = [...samples].sort((a, b) => a - b);
  const total = sorted.reduce((sum, x) => sum + x, 0);
  return {
    n: sorted.length,
    min: sorted[0] as number,
    mean: total / sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] as number,
  };
}

export function median(samples: readonly number[]): number {
  return summarize(samples).p50;
}

/** Tasks per second an ideal orchestrator reaches: every slot always busy with model latency. */
export function idealThroughput(concurrency: number, roleCalls: number, latencyMs: number): number {
  return concurrency / ((roleCalls * latencyMs) / 1000);
}
