import { setTimeout as sleep } from 'node:timers/promises';
import { createHarness } from './harness.js';
import { settledHeapUsed } from './heap.js';
import type { Mode } from './modes.js';
import { phaseBreakdown, type Phase } from './phases.js';
import { ROLE_CALLS_PER_TASK } from './script.js';
import { idealThroughput, summarize, type Summary } from './stats.js';
import { createPhaseTrace } from './stubs.js';

/** How many tasks each measurement runs; `--quick` shrinks them about threefold. */
export interface Sizes {
  readonly warmup: number;
  readonly overheadTasks: number;
  /** Full waves of C tasks per throughput run. */
  readonly throughputWaves: number;
  readonly retainedTasks: number;
  /** Tasks held in flight; at most the runtime's concurrency limit (256), so none is merely queued. */
  readonly inFlightTasks: number;
  readonly diagnosticTasks: number;
}

export function sizesFor(mode: Mode, quick: boolean): Sizes {
  const full: Sizes = mode.durable
    ? { warmup: 30, overheadTasks: 200, throughputWaves: 3, retainedTasks: 300, inFlightTasks: 256, diagnosticTasks: 40 }
    : { warmup: 100, overheadTasks: 600, throughputWaves: 4, retainedTasks: 1000, inFlightTasks: 256, diagnosticTasks: 40 };
  if (!quick) return full;
  return {
    warmup: Math.ceil(full.warmup / 3),
    overheadTasks: Math.ceil(full.overheadTasks / 3),
    throughputWaves: 2,
    retainedTasks: Math.ceil(full.retainedTasks / 3),
    inFlightTasks: 128,
    diagnosticTasks: 20,
  };
}

/** Simulated latency of every role call in the throughput runs (the 50 ms). */
export const THROUGHPUT_LATENCY_MS = 50;
export const THROUGHPUT_CONCURRENCIES = [1, 16, 256] as const;

export interface OverheadResult {
  /** One task at a time, zero model latency: submit → outcome per task. */
  readonly sequential: Summary;
  /**
   * Process CPU time (user + system, every thread) ÷ tasks over the sequential run: what a task
   * costs, much less disturbed than wall time when other processes compete for the cores.
   */
  readonly cpuMsPerTask: number;
  /** Wall time ÷ tasks with 16 tasks at a time, zero latency: the CPU a task costs when tasks overlap. */
  readonly amortizedAt16Ms: number;
}

export async function measureOverhead(mode: Mode, sizes: Sizes): Promise<OverheadResult> {
  const sequential = await createHarness({ mode, concurrency: 1, roleDelayMs: 0 });
  let summary: Summary;
  let cpuMsPerTask: number;
  try {
    await sequential.runSequential(sequential.makeTasks(sizes.warmup));
    const tasks = sequential.makeTasks(sizes.overheadTasks);
    const cpuBefore = process.cpuUsage();
    summary = summarize((await sequential.runSequential(tasks)).taskMs);
    const cpu = process.cpuUsage(cpuBefore);
    cpuMsPerTask = (cpu.user + cpu.system) / 1000 / sizes.overheadTasks;
  } finally {
    await sequential.close();
  }
  const overlapped = await createHarness({ mode, concurrency: 16, roleDelayMs: 0 });
  try {
    await overlapped.runAll(overlapped.makeTasks(sizes.warmup));
    const run = await overlapped.runAll(overlapped.makeTasks(sizes.overheadTasks));
    return { sequential: summary, cpuMsPerTask, amortizedAt16Ms: run.wallMs / sizes.overheadTasks };
  } finally {
    await overlapped.close();
  }
}

export interface ThroughputResult {
  readonly concurrency: number;
  readonly tasks: number;
  readonly wallMs: number;
  readonly achievedPerSecond: number;
  readonly idealPerSecond: number;
  readonly ratio: number;
  /** Submit → outcome per task; includes time queued behind the concurrency limit. */
  readonly taskMs: Summary;
}

export async function measureThroughput(mode: Mode, sizes: Sizes, concurrency: number): Promise<ThroughputResult> {
  const harness = await createHarness({ mode, concurrency, roleDelayMs: THROUGHPUT_LATENCY_MS });
  try {
    // One short warm-up wave so the first measured wave does not pay for compiling the code paths.
    await harness.runAll(harness.makeTasks(Math.min(concurrency, 16)));
    const tasks = concurrency * sizes.throughputWaves;
    const run = await harness.runAll(harness.makeTasks(tasks));
    const achievedPerSecond = tasks / (run.wallMs / 1000);
    const idealPerSecond = idealThroughput(concurrency, ROLE_CALLS_PER_TASK, THROUGHPUT_LATENCY_MS);
    return {
      concurrency,
      tasks,
      wallMs: run.wallMs,
      achievedPerSecond,
      idealPerSecond,
      ratio: achievedPerSecond / idealPerSecond,
      taskMs: summarize(run.taskMs),
    };
  } finally {
    await harness.close();
  }
}

export interface RetainedResult {
  readonly tasks: number;
  readonly bytesPerTask: number;
  /** Size of each finished task's record as the store holds it (JSON), per task. */
  readonly recordBytesPerTask: number;
}

/**
 * Tasks run before the baseline of the retained-heap measure. With fewer, first-use allocations
 * (maps and arrays growing, lazily built caches) land after the baseline and swing the figure by
 * several KB per task either way.
 */
const RETAINED_WARMUP = 100;

/** Heap that stays after N tasks finished and the runtime is idle, per task. */
export async function measureRetained(mode: Mode, sizes: Sizes): Promise<RetainedResult> {
  const harness = await createHarness({ mode, concurrency: 16, roleDelayMs: 0 });
  const warmup = Math.max(sizes.warmup, RETAINED_WARMUP);
  try {
    await harness.submitDetached(warmup);
    await harness.runtime.idle();
    harness.runner.recycle();
    const before = await settledHeapUsed();
    await harness.submitDetached(sizes.retainedTasks);
    await harness.runtime.idle();
    harness.runner.recycle();
    const after = await settledHeapUsed();
    await harness.checkAllDone(warmup + sizes.retainedTasks);
    const records = await harness.runtime.list();
    const recordBytes = records.reduce((sum, record) => sum + Buffer.byteLength(JSON.stringify(record)), 0);
    return { tasks: sizes.retainedTasks, bytesPerTask: (after - before) / sizes.retainedTasks, recordBytesPerTask: recordBytes / records.length };
  } finally {
    await harness.close();
  }
}

export interface InFlightResult {
  readonly tasks: number;
  readonly bytesPerTask: number;
  /** Where the tasks were parked when measured. */
  readonly parkedIn: string;
}

const PARK_TIMEOUT_MS = 120_000;

/**
 * Heap per task while N tasks are in flight: every task is parked in its first quality gate (plan
 * approved, one step implemented and reviewed), the stub gate holding it like a long model call.
 */
export async function measureInFlight(mode: Mode, sizes: Sizes): Promise<InFlightResult> {
  const harness = await createHarness({ mode, concurrency: 256, roleDelayMs: 0 });
  try {
    await harness.submitDetached(sizes.warmup);
    await harness.runtime.idle();
    harness.gate.hold();
    harness.runner.recycle();
    const before = await settledHeapUsed();
    await harness.submitDetached(sizes.inFlightTasks);
    const deadline = Date.now() + PARK_TIMEOUT_MS;
    while (harness.gate.held < sizes.inFlightTasks) {
      if (Date.now() > deadline) throw new Error(`only ${harness.gate.held} of ${sizes.inFlightTasks} tasks reached the gate within ${PARK_TIMEOUT_MS} ms`);
      await sleep(10);
    }
    // The runner's request log holds prompts of calls that are over; a real runner keeps none.
    harness.runner.recycle();
    const during = await settledHeapUsed();
    harness.gate.release();
    await harness.runtime.idle();
    await harness.checkAllDone(sizes.warmup + sizes.inFlightTasks);
    return { tasks: sizes.inFlightTasks, bytesPerTask: (during - before) / sizes.inFlightTasks, parkedIn: 'QUALITY_GATE of step 1' };
  } finally {
    await harness.close();
  }
}

export interface DiagnosticResult {
  readonly tasks: number;
  /** Store writes per task, submit included. */
  readonly putsPerTask: number;
  readonly meanPutBytes: number;
  readonly largestPutBytes: number;
  /** Writes per task and mean JSON bytes by key family (`tasks`, `ledger`, …). */
  readonly families: readonly { readonly family: string; readonly putsPerTask: number; readonly meanBytes: number }[];
  readonly phases: readonly Phase[];
}

/** Where a sequential task's time goes, and what it writes: a traced, tallied run kept apart from the timed ones. */
export async function measureDiagnostics(mode: Mode, sizes: Sizes): Promise<DiagnosticResult> {
  const trace = createPhaseTrace();
  const harness = await createHarness({ mode, concurrency: 1, roleDelayMs: 0, trace, tally: true });
  try {
    await harness.runSequential(harness.makeTasks(sizes.warmup));
    trace.clear();
    const tally = harness.tally;
    if (!tally) throw new Error('the diagnostic harness has no store tally');
    const puts = tally.puts;
    const bytes = tally.bytes;
    tally.largest = 0;
    tally.families.clear();
    await harness.runSequential(harness.makeTasks(sizes.diagnosticTasks));
    const n = tally.puts - puts;
    return {
      tasks: sizes.diagnosticTasks,
      putsPerTask: n / sizes.diagnosticTasks,
      meanPutBytes: (tally.bytes - bytes) / n,
      largestPutBytes: tally.largest,
      families: [...tally.families].map(([family, counts]) => ({
        family,
        putsPerTask: counts.puts / sizes.diagnosticTasks,
        meanBytes: counts.bytes / counts.puts,
      })),
      phases: phaseBreakdown(trace.marks),
    };
  } finally {
    await harness.close();
  }
}
