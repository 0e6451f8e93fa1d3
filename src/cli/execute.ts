import { resolve } from 'node:path';
import type { AgentRunner } from '../runners/agent-runner.js';
import type { ReviewDecision, TaskEvent } from '../model/task-events.js';
import type { LoadedConfig } from '../config/load-config.js';
import { InputError, StoreError, errorMessage, type InputIssue } from '../platform/errors.js';
import type { TaskHandle } from '../runtime/runtime-api.js';
import type { TaskOutcome } from '../runtime/task-outcome.js';
import { loadTaskFiles, selectTasks } from '../tasks/load-tasks.js';
import { dependencyIssues, dependencyOrder } from '../tasks/task-dependencies.js';
import { resolveTaskRepos, type ResolvedTask } from '../tasks/resolve-repos.js';
import { inspectorBanner, startInspector } from '../telemetry/inspect.js';
import { traceLogMixin } from '../telemetry/log-trace.js';
import { createLogger, type Logger } from '../telemetry/logger.js';
import { parseListenAddress, startMetricsServer, type ListenAddress } from '../telemetry/metrics-server.js';
import { createTracing, exportErrorReporter, type Tracing } from '../telemetry/tracing.js';
import { otlpMetricsConfig, startOtlpMetrics, type OtlpMetricsConfig } from '../telemetry/otlp-metrics.js';
import { excludeFromRepo } from '../workspace/repo-exclude.js';
import { ExitCode, type CliIO } from './io.js';
import { openRuntime, relativeInside } from '../app/embedded.js';
import { createProgressPrinter, formatSummary, type SummaryRow } from './progress.js';
import { printInputError, reviewHint } from './print-error.js';
import { rememberRun } from './last-run.js';
import { createGracefulStop, stoppingNotice } from './stopping.js';
import { readLedger } from '../routing/cost-ledger.js';
import { taskStatus } from './task-numbers.js';
import { createLiveDisplay } from './live-display.js';
import { humanLogStream, jsonEventLine, jsonFinishedLine, useColor } from './output.js';

export interface ExecuteOptions {
  readonly io: CliIO;
  readonly loaded: LoadedConfig;
  readonly runners: Map<string, AgentRunner>;
  /** Task files or folders to submit. */
  readonly paths?: readonly string[] | undefined;
  /** `--task ID`: only these tasks of the files (all when empty). */
  readonly taskIds?: readonly string[] | undefined;
  readonly repo?: string | undefined;
  readonly base?: string | undefined;
  /** Also continue every unfinished task found in the state dir. */
  readonly resume?: boolean;
  readonly decision?: { readonly taskId: string; readonly decision: ReviewDecision } | undefined;
  readonly json?: boolean;
  /** Record the runner and script for later `resume` / `review` (once the input is known good). */
  readonly remember?: boolean;
  /** `--metrics-port [host:]port`: serve /metrics, /healthz and /readyz while the tasks run. */
  readonly metricsPort?: string | undefined;
  /** `--inspect [port]`: stream the machines to the Stately inspector. */
  readonly inspect?: true | number | undefined;
  /** Printed before the first event, e.g. which runner answers. */
  readonly banner?: string | undefined;
  /** `--no-color` gives false; NO_COLOR and a non-terminal turn color off too. */
  readonly color?: boolean | undefined;
  /** `--quiet`: no banner and no progress lines, only the summary, hints and problems. */
  readonly quiet?: boolean | undefined;
}

export function commandLogger(io: CliIO, loaded: LoadedConfig, tracing?: Tracing, options: { human?: boolean; color?: boolean } = {}): Logger {
  return createLogger({
    level: loaded.config.log_level ?? 'warn',
    // A person reads one line per warning; the JSON lines go to the log file.
    ...(options.human === false
      ? { pretty: io.stderr.isTTY === true }
      : { destination: humanLogStream((t) => io.stderr.write(t), useColor(io, io.stderr, options)) }),
    file: resolve(loaded.stateDir, 'logs', 'tandem.jsonl'),
    // trace_id and span_id on every line, so a log line leads to its trace.
    ...(tracing ? { mixin: traceLogMixin(tracing) } : {}),
  });
}

/** 0 every task DONE, 1 one FAILED, was ABORTED or broke, 3 one waits for a person or for its dependencies. */
function exitCodeOf(outcomes: readonly TaskOutcome[], submitted: number): ExitCode {
  const waits = (o: TaskOutcome): boolean => o.state === 'AWAITING_HUMAN_REVIEW' || o.blockedBy !== undefined;
  if (outcomes.length < submitted || outcomes.some((o) => o.state !== 'DONE' && !waits(o))) return ExitCode.failed;
  if (outcomes.some(waits)) return ExitCode.waiting;
  return ExitCode.ok;
}

/**
 * The shared body of `run`, `resume`, `review` and `demo`: validate everything first (nothing is
 * started or written when any input is bad), then drive the tasks and print their progress and a
 * summary. Ctrl-C stops the tasks where they stand; `tandem resume` continues them.
 */
export async function executeTasks(options: ExecuteOptions): Promise<ExitCode> {
  const { io, loaded, runners } = options;
  let resolved: ResolvedTask[] = [];
  let definedIds: string[] = [];
  let tracing: Tracing;
  let metricsAddress: ListenAddress | undefined;
  let metricsExport: OtlpMetricsConfig | undefined;
  // Text for stderr goes above the live status lines while they are shown.
  let writeErr = (text: string): void => io.stderr.write(text);
  // A collector that is down: counted, and told at most once a minute, not once per batch (nor never).
  const exportErrors = exportErrorReporter({ warn: (message) => writeErr(`tandem: ${message}\n`) });
  try {
    // OTEL_* settings are input too: a bad one is reported before anything starts.
    tracing = createTracing({
      env: io.env,
      serviceName: 'tandem',
      onExportError: exportErrors.onExportError,
    });
    metricsExport = otlpMetricsConfig(io.env);
    metricsAddress = options.metricsPort === undefined ? undefined : parseListenAddress(options.metricsPort);
    if (options.paths && options.paths.length > 0) {
      const all = await loadTaskFiles(options.paths.map((p) => resolve(io.cwd, p)));
      definedIds = all.map((t) => t.spec.id);
      const loadedTasks = selectTasks(all, options.taskIds ?? []);
      const repoGuess = resolve(io.cwd, options.repo ?? '.');
      const stateRel = relativeInside(repoGuess, loaded.stateDir);
      resolved = await resolveTaskRepos(loadedTasks, {
        cwd: io.cwd,
        ...(options.repo === undefined ? {} : { repo: options.repo }),
        ...((options.base ?? loaded.config.base) ? { base: options.base ?? loaded.config.base } : {}),
        ignore: ['.tandem/', ...(stateRel ? [`${stateRel}/`] : [])],
      });
    }
  } catch (error) {
    if (error instanceof InputError) return printInputError(io, error);
    throw error;
  }

  const logger = commandLogger({ ...io, stderr: { write: (t) => writeErr(t), isTTY: io.stderr.isTTY } }, loaded, tracing, {
    ...(options.color === false ? { color: false } : {}),
  });
  const json = options.json === true;
  const quiet = options.quiet === true || json;
  const stop = createGracefulStop({
    active: () => opened.runtime.active(),
    stopTask: (id) => opened.runtime.stopTask(id),
    deadlineMs: loaded.config.limits.role_timeout_ms,
  });
  const inspector = options.inspect === undefined ? undefined : await startInspector(options.inspect === true ? {} : { port: options.inspect });
  if (inspector) io.stderr.write(`${inspectorBanner(inspector)}\n`);
  let opened: Awaited<ReturnType<typeof openRuntime>>;
  try {
    opened = await openRuntime({ loaded, runners, logger, tracing, inspect: inspector?.inspect, mayStart: (id) => stop.mayStart(id) });
  } catch (error) {
    await inspector?.close();
    await tracing.shutdown();
    if (error instanceof StoreError && error.code === 'unavailable') {
      io.stderr.write(`tandem: the state dir ${loaded.stateDir} is in use by another tandem process: ${error.message}\n`);
      return ExitCode.badInput;
    }
    throw error;
  }
  const { runtime } = opened;
  exportErrors.countIn(opened.metrics.traceExportFailures);
  const metricErrors = exportErrorReporter({ what: 'metrics', warn: (message) => writeErr(`tandem: ${message}\n`) });
  const otlpMetrics =
    metricsExport &&
    startOtlpMetrics({ config: metricsExport, registry: opened.metrics.registry, resource: tracing.resource, onExportError: metricErrors.onExportError });
  const metricsServer = metricsAddress ? await startMetricsServer({ registry: opened.metrics.registry, address: metricsAddress }) : undefined;
  if (metricsServer && !options.json) io.stderr.write(`tandem: metrics at ${metricsServer.url}/metrics\n`);
  try {
    // Refuse ids that already exist before submitting any, so a bad run starts nothing.
    const duplicates: InputIssue[] = [];
    for (const task of resolved) {
      const existing = await runtime.get(task.spec.id);
      if (existing) {
        duplicates.push({
          file: task.spec.source?.file ?? 'task',
          line: task.spec.source?.line,
          field: 'id',
          message: `task ${task.spec.id} already exists in ${loaded.stateDir} (state ${existing.state}); give it a new id, or use \`tandem resume\` / \`tandem review ${task.spec.id}\``,
        });
      }
    }
    if (duplicates.length > 0) return printInputError(io, new InputError(duplicates));
    const stored = new Set((await runtime.list()).map((r) => r.id));
    const dependencies = dependencyIssues(
      resolved.map((t) => t.spec),
      stored,
      definedIds,
    );
    if (dependencies.length > 0) return printInputError(io, new InputError(dependencies));
    if (options.decision) {
      const existing = await runtime.get(options.decision.taskId);
      if (!existing)
        return printInputError(io, new InputError([{ file: 'review', field: 'task', message: `no task ${options.decision.taskId} in ${loaded.stateDir}` }]));
    }

    if (options.remember) {
      await rememberRun(loaded.stateDir, { runner: loaded.config.runner_override, script: loaded.config.runners.scripted.script });
    }
    for (const repo of new Set(resolved.map((t) => t.repo))) {
      const rel = relativeInside(repo, loaded.stateDir);
      if (rel) await excludeFromRepo(repo, rel);
    }

    const calls = new Map<string, number>();
    const color = useColor(io, io.stdout, { ...(options.color === false ? { color: false } : {}) });
    // At a terminal, one status line per running task stays at the bottom, redrawn in place.
    const live =
      quiet || io.stdout.isTTY !== true
        ? undefined
        : createLiveDisplay({
            out: (t) => io.stdout.write(t),
            err: (t) => io.stderr.write(t),
            now: () => Date.now(),
            columns: () => io.stdout.columns ?? 80,
            color,
          });
    if (live) writeErr = (text) => live.writeErr(text);
    const printer = quiet ? undefined : createProgressPrinter({ write: (t) => (live ? live.write(t) : io.stdout.write(t)), now: () => Date.now(), color });
    const subscription = runtime.onEvent((event: TaskEvent) => {
      if (event.type === 'role.finished') calls.set(event.taskId, (calls.get(event.taskId) ?? 0) + event.tries);
      stop.onEvent(event);
      live?.onEvent(event);
      printer?.onEvent(event);
      if (json) io.stdout.write(jsonEventLine(event));
    });
    if (options.banner && !quiet) io.stdout.write(options.banner);

    const handles: TaskHandle[] = [];
    if (options.resume) handles.push(...(await runtime.resume()));
    if (options.decision) handles.push(await runtime.decide(options.decision.taskId, options.decision.decision));
    // Dependencies first, so a task's dependencies are stored by the time it looks for them.
    for (const task of dependencyOrder(resolved)) handles.push(await runtime.submit(task));
    if (handles.length === 0) {
      io.stdout.write(json ? jsonFinishedLine([], ExitCode.ok, false) : 'nothing to do: no unfinished tasks\n');
      subscription.unsubscribe();
      live?.close();
      return ExitCode.ok;
    }

    const all = Promise.allSettled(handles.map((h) => h.outcome));
    const onInterrupt = (): void => {
      writeErr(stoppingNotice(stop.begin()));
    };
    const onStopNow = (): void => {
      writeErr('stopping now: the calls in flight are cancelled\n');
      stop.now();
    };
    if (io.signal.aborted) onInterrupt();
    else io.signal.addEventListener('abort', onInterrupt, { once: true });
    if (io.stopNow?.aborted) onStopNow();
    else io.stopNow?.addEventListener('abort', onStopNow, { once: true });
    const result = await all;
    io.signal.removeEventListener('abort', onInterrupt);
    io.stopNow?.removeEventListener('abort', onStopNow);
    await runtime.idle().catch(() => undefined);
    subscription.unsubscribe();
    live?.close();
    writeErr = (text) => io.stderr.write(text);
    const outcomes: TaskOutcome[] = [];
    for (const [i, settled] of result.entries()) {
      if (settled.status === 'fulfilled') outcomes.push(settled.value);
      else io.stderr.write(`tandem: task ${handles[i]?.id ?? '?'} stopped with an internal error: ${errorMessage(settled.reason)}\n`);
    }
    const code = stop.stopping ? ExitCode.interrupted : exitCodeOf(outcomes, handles.length);
    if (json) io.stdout.write(jsonFinishedLine(outcomes, code, stop.stopping));
    if (stop.stopping) {
      io.stderr.write(`tandem: interrupted; every task stopped where it stood. \`tandem resume\` continues them.\n`);
      return code;
    }
    if (!json) {
      // The same numbers as `tandem status`: calls from the ledger (this run's and earlier ones'), active time.
      const ledger = await readLedger(opened.store).catch(() => []);
      const rows: SummaryRow[] = [];
      for (const outcome of outcomes) {
        const record = await runtime.get(outcome.id);
        const status = record ? taskStatus(record, ledger, Date.now()) : undefined;
        rows.push({
          outcome: status ? { ...outcome, durationMs: status.active_ms } : outcome,
          steps: record?.stepCount ? `${outcome.commits.length + (record.findings?.length ?? 0)}/${record.stepCount}` : '-',
          calls: status?.model_calls ?? calls.get(outcome.id) ?? 0,
        });
      }
      io.stdout.write(`\n${formatSummary(rows)}`);
      const waiting = outcomes.filter((o) => o.state === 'AWAITING_HUMAN_REVIEW');
      for (const w of waiting) {
        const why = (await runtime.get(w.id))?.waiting;
        io.stdout.write(`\n${w.id} waits for a person. Decide with:\n  ${reviewHint(w.id, why?.kind, why?.stage)}\n`);
      }
      for (const b of outcomes.filter((o) => o.blockedBy !== undefined)) {
        io.stdout.write(`\n${b.id} did not start: it ${b.reason ?? 'waits for its dependencies'}. \`tandem resume\` starts it once they are DONE.\n`);
      }
    }
    return code;
  } finally {
    await opened.close();
    await otlpMetrics?.shutdown();
    await metricsServer?.close();
    await inspector?.close();
    await tracing.shutdown();
    logger.flush();
  }
}
