/**
 * `npm run bench [-- --mode memory|file|all] [--quick] [--json]`
 *
 * The issue-4 benchmark of the embedded runtime: orchestration overhead per task, achieved ÷ ideal
 * throughput with 50 ms per role call, and heap per finished and per in-flight task, for each mode,
 * each figure next to its target. Progress goes to stderr; the table (or JSON) to stdout.
 */
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { InputError } from '../src/index.js';
import {
  measureDiagnostics,
  measureInFlight,
  measureOverhead,
  measureRetained,
  measureThroughput,
  sizesFor,
  THROUGHPUT_CONCURRENCIES,
  THROUGHPUT_LATENCY_MS,
  type DiagnosticResult,
} from './measure.js';
import { modeNamed, modes, type Mode } from './modes.js';
import { countVerdicts, figureJson, figuresTable, formatTable, type Figure } from './report.js';
import { ROLE_CALLS_PER_TASK, RUNNER_CALLS_PER_TASK } from './script.js';

const USAGE = `usage: npm run bench -- [--mode memory|file|all] [--quick] [--json]
  --mode   which embedded mode to measure (default: all)
  --quick  fewer tasks per measurement (about a third of the time)
  --json   print the results as JSON instead of a table`;

interface Options {
  readonly modes: readonly Mode[];
  readonly quick: boolean;
  readonly json: boolean;
}

/** `undefined` for --help: the usage is printed and there is nothing to measure. */
function parseOptions(argv: readonly string[]): Options | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        mode: { type: 'string', default: 'all' },
        quick: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    });
  } catch (error) {
    throw new InputError([{ file: 'argv', message: `${error instanceof Error ? error.message : String(error)}\n${USAGE}` }], { cause: error });
  }
  const { values } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return undefined;
  }
  let chosen: readonly Mode[];
  if (values.mode === 'all') {
    chosen = modes;
  } else {
    const mode = modeNamed(values.mode);
    if (!mode)
      throw new InputError([{ file: 'argv', field: '--mode', message: `unknown mode "${values.mode}" (known: ${modes.map((m) => m.name).join(', ')}, all)` }]);
    chosen = [mode];
  }
  return { modes: chosen, quick: values.quick, json: values.json };
}

/**
 * Node prints a process warning every time it is emitted; a runtime that warns per task would bury
 * the progress lines. Each distinct warning is printed once here and counted for the report.
 */
function collectWarnings(): Map<string, number> {
  const seen = new Map<string, number>();
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    const key = `${warning.name}: ${warning.message}`;
    const count = seen.get(key) ?? 0;
    seen.set(key, count + 1);
    if (count === 0) process.stderr.write(`bench: process warning (printed once, counted): ${key}\n`);
  });
  return seen;
}

function progress(text: string): void {
  process.stderr.write(`bench: ${text}\n`);
}

async function measureMode(mode: Mode, quick: boolean): Promise<{ figures: Figure[]; diagnostics: DiagnosticResult }> {
  const sizes = sizesFor(mode, quick);
  const figures: Figure[] = [];
  const add = (figure: Omit<Figure, 'mode'>): void => void figures.push({ mode: mode.name, ...figure });

  progress(`${mode.name}: overhead (${sizes.overheadTasks} tasks one at a time, then 16 at a time, 0 ms latency)`);
  const overhead = await measureOverhead(mode, sizes);
  add({ metric: 'overhead.p50', label: 'overhead per task p50 (sequential)', value: overhead.sequential.p50, unit: 'ms', target: mode.targets.overheadP50Ms });
  add({ metric: 'overhead.p99', label: 'overhead per task p99 (sequential)', value: overhead.sequential.p99, unit: 'ms', target: mode.targets.overheadP99Ms });
  add({
    metric: 'overhead.cpu',
    label: 'CPU time per task (sequential)',
    value: overhead.cpuMsPerTask,
    unit: 'ms',
    note: 'user + system; steadier than wall time on a busy machine',
  });
  add({
    metric: 'overhead.amortized16',
    label: 'wall ÷ tasks at C=16, 0 ms latency',
    value: overhead.amortizedAt16Ms,
    unit: 'ms',
    note: 'CPU per task when tasks overlap',
  });

  for (const concurrency of THROUGHPUT_CONCURRENCIES) {
    progress(`${mode.name}: throughput at C=${concurrency} (${concurrency * sizes.throughputWaves} tasks, ${THROUGHPUT_LATENCY_MS} ms per role call)`);
    const result = await measureThroughput(mode, sizes, concurrency);
    const atMax = concurrency === THROUGHPUT_CONCURRENCIES[THROUGHPUT_CONCURRENCIES.length - 1];
    add({
      metric: `throughput.c${concurrency}.ratio`,
      label: `throughput ÷ ideal at C=${concurrency}`,
      value: result.ratio,
      unit: 'ratio',
      target: atMax ? mode.targets.throughputRatioAtMax : undefined,
      note: `${result.achievedPerSecond.toFixed(1)} of ${result.idealPerSecond.toFixed(1)} tasks/s; task p50 ${result.taskMs.p50.toFixed(0)} ms`,
    });
  }

  progress(`${mode.name}: heap retained per finished task (${sizes.retainedTasks} tasks)`);
  const retained = await measureRetained(mode, sizes);
  add({
    metric: 'heap.retained_per_task',
    label: 'heap retained per finished task',
    value: retained.bytesPerTask,
    unit: 'B',
    target: mode.targets.retainedBytesPerTask,
    note: `finished record in the store: ${Math.round(retained.recordBytesPerTask)} B of JSON${mode.name === 'memory' ? ' (held in heap)' : ' (on disk)'}`,
  });

  progress(`${mode.name}: heap per in-flight task (${sizes.inFlightTasks} tasks)`);
  const inFlight = await measureInFlight(mode, sizes);
  add({
    metric: 'heap.in_flight_per_task',
    label: 'heap per in-flight task',
    value: inFlight.bytesPerTask,
    unit: 'B',
    target: mode.targets.inFlightBytesPerTask,
    note: `parked in ${inFlight.parkedIn}`,
  });

  progress(`${mode.name}: diagnostics (${sizes.diagnosticTasks} traced tasks)`);
  const diagnostics = await measureDiagnostics(mode, sizes);
  const families = diagnostics.families
    .map((f) => `${f.family} ${f.putsPerTask.toFixed(f.putsPerTask % 1 === 0 ? 0 : 1)} × ${Math.round(f.meanBytes)} B`)
    .join(', ');
  add({
    metric: 'store.puts_per_task',
    label: 'store writes per task',
    value: diagnostics.putsPerTask,
    unit: 'count',
    note: `${families}; largest ${diagnostics.largestPutBytes} B of JSON`,
  });
  return { figures, diagnostics };
}

function phaseTable(mode: string, diagnostics: DiagnosticResult): string {
  const rows = diagnostics.phases.map((p) => [p.label, p.perTask.toFixed(0), p.medianMs.toFixed(3), p.perTaskMs.toFixed(3)]);
  const total = diagnostics.phases.reduce((sum, p) => sum + p.perTaskMs, 0);
  rows.push(['total', '', '', total.toFixed(3)]);
  return `${mode}: where a sequential task's time goes (median ms between effects; "x.end→y" is runtime work)\n${formatTable(['phase', 'per task', 'median ms', 'ms per task'], rows, ['left', 'right', 'right', 'right'])}`;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (!options) return;
  const warnings = collectWarnings();
  const started = performance.now();
  const loadBefore = loadavg()[0] ?? 0;
  const results: { mode: Mode; figures: Figure[]; diagnostics: DiagnosticResult }[] = [];
  for (const mode of options.modes) results.push({ mode, ...(await measureMode(mode, options.quick)) });
  const figures = results.flatMap((r) => r.figures);
  const machine = {
    cpus: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    platform: process.platform,
    loadavg1Before: loadBefore,
    loadavg1After: loadavg()[0] ?? 0,
  };
  const durationS = (performance.now() - started) / 1000;
  const busy = Math.max(machine.loadavg1Before, machine.loadavg1After) > machine.cpus * 0.5;

  if (options.json) {
    const json = {
      machine,
      quick: options.quick,
      pipeline: {
        roleCallsPerTask: ROLE_CALLS_PER_TASK,
        runnerCallsPerTask: RUNNER_CALLS_PER_TASK,
        gateCallsPerTask: ROLE_CALLS_PER_TASK - RUNNER_CALLS_PER_TASK,
        latencyMs: THROUGHPUT_LATENCY_MS,
      },
      durationS,
      figures: figures.map(figureJson),
      warnings: Object.fromEntries(warnings),
      diagnostics: Object.fromEntries(results.map((r) => [r.mode.name, r.diagnostics])),
    };
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
    return;
  }
  const verdicts = countVerdicts(figures);
  const lines = [
    `tandem benchmark — ${options.modes.map((m) => `${m.name} (${m.description})`).join('; ')}`,
    `pipeline: plan → plan review → 3 × (implement → code review → gate) = ${ROLE_CALLS_PER_TASK} role calls (${RUNNER_CALLS_PER_TASK} scripted-runner calls + ${ROLE_CALLS_PER_TASK - RUNNER_CALLS_PER_TASK} stub-gate runs); ideal = C / (${ROLE_CALLS_PER_TASK} × ${THROUGHPUT_LATENCY_MS} ms)`,
    `machine: ${machine.cpus} × ${machine.cpu}, node ${machine.node}, load average ${machine.loadavg1Before.toFixed(2)} → ${machine.loadavg1After.toFixed(2)}${options.quick ? ', --quick' : ''}`,
    ...(busy ? ['warning: other processes kept this machine busy during the run; timing figures are pessimistic and noisy'] : []),
    '',
    figuresTable(figures),
    '',
    ...results.flatMap((r) => [phaseTable(r.mode.name, r.diagnostics), '']),
    ...[...warnings].map(([warning, count]) => `process warning × ${count}: ${warning}`),
    `${verdicts.pass} PASS, ${verdicts.miss} MISS in ${durationS.toFixed(0)} s`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  // A bad flag is the user's to fix and needs no stack; anything else is a bug in the harness or the runtime.
  if (error instanceof InputError) {
    process.stderr.write(`bench: ${error.message}\n`);
    process.exitCode = 2;
    return;
  }
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
