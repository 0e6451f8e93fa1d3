import type { TaskEvent } from '../model/task-events.js';
import { mkdir } from 'node:fs/promises';
import { roleQueue, submissionsQueue, type WorkQueue } from '../queue/work-queue.js';
import { openNatsWorkQueue } from '../queue/nats-work-queue.js';
import { systemClock } from '../platform/clock.js';
import { errorMessage, InputError, StoreError } from '../platform/errors.js';
import { waitForNats, type NatsParts } from '../distributed/open-nats.js';
import { createRemoteExecutor, type RemoteExecutor } from '../distributed/remote-executor.js';
import { answerDeadLetter, startRoleService, type RoleService } from '../distributed/role-service.js';
import { startSupervisorService, type SupervisorService } from '../distributed/supervisor-service.js';
import { createTaskLeases } from '../distributed/task-leases.js';
import { memoRunners } from '../distributed/memo-runners.js';
import { patientStore } from '../distributed/patient-store.js';
import type { Subscription } from '../bus/bus.js';
import { bindMetrics } from '../telemetry/bind-metrics.js';
import { createWorkspaceSweep } from '../distributed/workspace-sweep.js';
import { observeGate } from '../telemetry/gate-metrics.js';
import { createRoleWork } from '../roles/create-role-work.js';
import { roleServiceNames, type RoleServiceName } from '../model/role-work.js';
import { createRuntime } from '../runtime/runtime.js';
import { type Runtime } from '../runtime/runtime-api.js';
import { createRouting } from '../routing/routing.js';
import { createMetrics } from '../telemetry/metrics.js';
import { parseListenAddress, startMetricsServer, type MetricsServer } from '../telemetry/metrics-server.js';
import { createTracing, exportErrorReporter } from '../telemetry/tracing.js';
import { otlpMetricsConfig, startOtlpMetrics, type OtlpMetrics, type OtlpMetricsConfig } from '../telemetry/otlp-metrics.js';
import { inspectorBanner, startInspector } from '../telemetry/inspect.js';
import { bindTracing } from '../telemetry/bind-tracing.js';
import { traceRoleCalls } from '../telemetry/role-call-tracing.js';
import { storedTaskTraces, taskTraceHeaders, tracedRoleQueue } from '../distributed/traced-calls.js';
import { taskFactsFromStore } from '../telemetry/task-facts.js';
import { createGitWorkspace } from '../workspace/git-workspace.js';
import { withNatsOption, withRunOptions } from './common-options.js';
import { commandLogger } from './execute.js';
import { ExitCode, type RegisterCommand } from './io.js';
import { stopServicesLikeRun } from './stopping.js';
import { createGate, statePaths } from '../app/embedded.js';
import { printInputError } from './print-error.js';
import { prepare, runnerBanner } from './run.js';
import { DEFAULT_LEASE_MS, SWEEP_INTERVAL_MS, SERVICE_NAMES, duration, millis, parseServices, serviceId, type ServeFlags } from './serve-options.js';

export const registerServeCommand: RegisterCommand = (program, io, done) => {
  withNatsOption(
    withRunOptions(
      program
        .command('serve')
        .description('run tandem services over NATS: the supervisor and/or role services (replicas of a role share its work)')
        .argument('<services...>', `${SERVICE_NAMES.join(', ')} or all`)
        .option(
          '--id <name>',
          "this replica's stable name, unique among the supervisors: a restart under the same name takes its tasks back at once (default: POD_NAME, HOSTNAME or the host name)",
        )
        .option(
          '--lease-ms <ms>',
          'a supervisor that has not renewed its lease on a task for this long loses it to another (renewed every third of it; others look every third of it)',
          millis,
          DEFAULT_LEASE_MS,
        )
        .option('--hand-back-ms <ms>', 'on SIGTERM, work still running after this long is handed back to another replica', millis, 20_000)
        .option(
          '--nats-wait <duration>',
          'at start-up, wait this long for NATS to answer (live but not ready meanwhile): 300s, 5m, 0 to fail at once',
          duration,
          300_000,
        )
        .option('--result-timeout-ms <ms>', "how long a supervisor waits for a role service's answer (default: 3 × limits.role_timeout_ms)", millis),
    ),
  ).action(async (names: string[], flags: ServeFlags) => {
    const services = parseServices(names);
    if (services instanceof InputError) return done(printInputError(io, services));
    const prepared = await prepare(io, flags);
    if (typeof prepared === 'number') return done(prepared);
    const { loaded, runners } = prepared;
    const { config } = loaded;
    let metricsAddress;
    let tracing;
    let metricsExport: OtlpMetricsConfig | undefined;
    const exportErrors = exportErrorReporter({ warn: (message) => io.stderr.write(`tandem serve: ${message}\n`) });
    try {
      metricsAddress = flags.metricsPort === undefined ? undefined : parseListenAddress(flags.metricsPort);
      tracing = createTracing({
        env: io.env,
        serviceName: `tandem-${services.length === SERVICE_NAMES.length ? 'all' : services.join('+')}`,
        // Each task its own trace: a service's process root would last (and stay unexported) as long as it runs.
        root: 'task',
        onExportError: exportErrors.onExportError,
      });
      metricsExport = otlpMetricsConfig(io.env);
    } catch (error) {
      if (error instanceof InputError) return done(printInputError(io, error));
      throw error;
    }
    const id = serviceId(flags.id, io.env);
    const logger = commandLogger(io, { ...loaded, config: { ...config, log_level: config.log_level ?? 'info' } }, tracing, { human: false });
    const clock = systemClock;
    const metrics = createMetrics({ processMetrics: true });
    exportErrors.countIn(metrics.traceExportFailures);
    // OTel metrics beside the scrape endpoint, from the same registry (when OTEL_* asks for them).
    const metricErrors = exportErrorReporter({ what: 'metrics', warn: (message) => io.stderr.write(`tandem serve: ${message}\n`) });
    const otlpMetrics: OtlpMetrics | undefined =
      metricsExport &&
      startOtlpMetrics({ config: metricsExport, registry: metrics.registry, resource: tracing.resource, onExportError: metricErrors.onExportError });
    let ready = false;
    let nats: NatsParts | undefined;
    let metricsServer: MetricsServer | undefined;
    try {
      // Up before NATS: live (/healthz) while it waits for NATS, ready (/readyz) only once connected.
      if (metricsAddress) {
        metricsServer = await startMetricsServer({
          registry: metrics.registry,
          address: metricsAddress,
          ready: () => ready && nats !== undefined && nats.connected(),
        });
        io.stderr.write(`tandem serve: metrics, /healthz and /readyz at ${metricsServer.url}\n`);
      }
      nats = await waitForNats(loaded, logger, `tandem ${services.join('+')} ${id}`, { waitMs: flags.natsWait, clock, signal: io.signal });
    } catch (error) {
      await metricsServer?.close();
      await tracing.shutdown();
      if (error instanceof InputError) return done(printInputError(io, error));
      if (error instanceof StoreError) {
        io.stderr.write(
          `tandem serve: ${error.message}${flags.natsWait > 0 && !io.signal.aborted ? ` (gave up after waiting ${Math.round(flags.natsWait / 1000)} s; see --nats-wait)` : ''}\n`,
        );
        return done(ExitCode.failed);
      }
      throw error;
    }

    // Every service rides out a short NATS outage instead of failing the work in hand.
    const store = patientStore(nats.store, { clock, limitMs: 60_000 });
    const paths = statePaths(loaded.stateDir);
    await mkdir(paths.pids, { recursive: true });
    const gate = observeGate(createGate(loaded, paths), metrics);
    const workspace = createGitWorkspace({ worktreesDir: paths.worktrees, stateDir: loaded.stateDir });
    // Every service records its calls in the shared store; each one's budgets count the others' spend.
    const routing = createRouting({ config, store, clock, runnerAvailable: (name) => runners.has(name), shared: { syncIntervalMs: 2_000 } });
    const queues = new Map<RoleServiceName, WorkQueue>();
    const roleServices: RoleService[] = [];
    let supervisor: SupervisorService | undefined;
    let runtime: Runtime | undefined;
    let executor: RemoteExecutor | undefined;
    let submissions: WorkQueue | undefined;
    let sweepTimer: NodeJS.Timeout | undefined;
    let inspector: Awaited<ReturnType<typeof startInspector>> | undefined;
    let counted: Subscription | undefined;
    let tracedTasks: ReturnType<typeof bindTracing> | undefined;
    // Role services trace their calls below the span the supervisor sends with each call.
    const callTracing = traceRoleCalls(tracing);
    try {
      const memo = memoRunners(runners, { store });
      const bus = callTracing.observe(nats.bus);
      const work = createRoleWork({ runners: memo.runners, routing, limits: config.limits, standards: config.standards, clock, bus, gate, workspace, logger });
      // A supervisor sends to every role's queue; a role service takes from its own.
      const wanted = services.includes('supervisor') ? roleServiceNames : services.filter((s): s is RoleServiceName => s !== 'supervisor');
      for (const service of wanted) {
        queues.set(
          service,
          await openNatsWorkQueue({
            connection: nats.connection,
            // A replica that dies hands its calls on after 10 s; a live one heart-beats long calls.
            // A gate call is run again however often its service is killed (checks are idempotent): never dead-lettered for it.
            spec: roleQueue(service, { ackWaitMs: 10_000, ...(service === 'quality-gate' ? { maxDeliveries: 1_000_000 } : {}) }),
            onError: (error, context) => logger.warn({ err: error, service, ...context }, `the ${service} queue: ${errorMessage(error)}`),
            onDeadLetter: (letter) => {
              logger.error({ service, id: letter.id, reason: letter.reason }, `the ${service} queue gave up on call ${letter.id ?? letter.sequence}`);
              void answerDeadLetter(letter, { store, bus: nats.bus, clock, service }).catch(() => undefined);
            },
          }),
        );
      }
      // Before any service starts: the supervisor's machines and every role call's actor show in it.
      inspector = flags.inspect === undefined ? undefined : await startInspector(flags.inspect === true ? {} : { port: flags.inspect });
      if (inspector) io.stderr.write(`${inspectorBanner(inspector)}\n`);
      const inspect = inspector ? { inspect: inspector.inspect } : {};
      for (const service of services) {
        if (service === 'supervisor') continue;
        const queue = queues.get(service);
        const traced = queue && tracedRoleQueue(queue, callTracing);
        if (traced)
          roleServices.push(
            startRoleService({ service, queue: traced, store, bus: nats.bus, work, clock, logger, concurrency: config.concurrency, memo, ...inspect }),
          );
      }
      if (services.includes('supervisor')) {
        executor = createRemoteExecutor({
          queues,
          store,
          bus: nats.bus,
          clock,
          logger,
          resultTimeoutMs: flags.resultTimeoutMs ?? 3 * config.limits.role_timeout_ms,
          traceHeaders: taskTraceHeaders(nats.bus, tracing),
        });
        // Leases must fail fast in an outage (a lease that cannot be renewed is lost, by design).
        const leases = createTaskLeases({
          store: nats.store,
          owner: id,
          ttlMs: flags.leaseMs,
          clock,
          logger,
          onLost: (taskId) => {
            tracedTasks?.interrupt(taskId);
            return runtime?.stopTask(taskId);
          },
        });
        runtime = createRuntime({ config, runners, store, bus: nats.bus, gate, workspace, logger, routing, executor, ownership: leases, clock, ...inspect });
        // Every supervisor sees every task's events on NATS: each counts only the tasks it holds, so the
        // cluster counts each event once.
        // A lifecycle event counts where it was published (a lease may run out while the task finishes).
        // Other events (role calls, gates) count where the task's lease is held now.
        const owned = (event: TaskEvent): boolean => runtime?.publishedHere(event) ?? leases.held().includes(event.taskId);
        counted = bindMetrics(nats.bus, metrics, { facts: taskFactsFromStore(store), filter: owned });
        // Likewise only the lease owner traces a task: one trace per task, not one per supervisor.
        tracedTasks = bindTracing(nats.bus, tracing, {
          facts: taskFactsFromStore(store),
          filter: owned,
          callsTracedElsewhere: true,
          // A task taken over (or decided on) goes on in the trace its first owner began.
          traces: storedTaskTraces(store),
        });
        submissions = await openNatsWorkQueue({
          connection: nats.connection,
          spec: submissionsQueue(),
          onError: (error) => logger.warn({ err: error }, `the submissions queue: ${errorMessage(error)}`),
        });
        // What crashed processes left behind: finished tasks' worktrees, dead gate runs' base trees.
        const sweeper = createWorkspaceSweep({
          store,
          workspace,
          worktreesDir: paths.worktrees,
          clock,
          logger,
          baseTreeMaxAgeMs: 2 * config.limits.role_timeout_ms,
        });
        const sweep = (): void =>
          void sweeper.sweep().catch((error: unknown) => logger.warn({ err: error }, `the workspace sweep failed: ${errorMessage(error)}`));
        sweep();
        sweepTimer = setInterval(sweep, SWEEP_INTERVAL_MS);
        sweepTimer.unref();
        supervisor = startSupervisorService({
          runtime,
          submissions,
          store,
          bus: nats.bus,
          leases,
          logger,
          scanMs: Math.max(100, Math.floor(flags.leaseMs / 3)),
          concurrency: config.concurrency,
        });
      }
      ready = true;
      io.stdout.write(runnerBanner(loaded));
      io.stdout.write(`tandem serve: ${services.join(', ')} ready on ${nats.servers} as ${id}\n`);
      await new Promise<void>((resolve) => {
        if (io.signal.aborted) resolve();
        io.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      stopServicesLikeRun(io, roleServices, (error, service) => logger.warn({ err: error }, `stopping ${service} failed`));
      io.stdout.write(`tandem serve: stopping ${services.join(', ')}\n`);
    } catch (error) {
      if (error instanceof InputError) {
        done(printInputError(io, error));
        return;
      }
      io.stderr.write(`tandem serve: ${errorMessage(error)}\n`);
      done(ExitCode.failed);
      return;
    } finally {
      ready = false;
      clearInterval(sweepTimer);
      // Graceful: no new work; calls in flight finish or go back to the queue; leases are released
      // so another supervisor takes the tasks over at once; then the connection drains.
      await supervisor?.stop().catch((error: unknown) => logger.warn({ err: error }, 'stopping the supervisor failed'));
      await Promise.all(
        roleServices.map((s) =>
          s.stop({ handBackAfterMs: flags.handBackMs }).catch((error: unknown) => logger.warn({ err: error }, `stopping ${s.service} failed`)),
        ),
      );
      for (const queue of [...queues.values(), ...(submissions ? [submissions] : [])]) await queue.close().catch(() => undefined);
      executor?.close();
      counted?.unsubscribe();
      tracedTasks?.close();
      await nats.close().catch(() => undefined);
      await metricsServer?.close();
      await inspector?.close();
      await otlpMetrics?.shutdown();
      await tracing.shutdown();
      logger.flush();
    }
    io.stdout.write(
      `tandem serve: stopped (${roleServices.map((s) => `${s.service}: ${s.stats().ran} ran, ${s.stats().replayed} replayed`).join('; ') || 'supervisor'})\n`,
    );
    // Only a signal (Ctrl-C, SIGTERM) ends the services: exit 130, as every command that runs tasks.
    done(ExitCode.interrupted);
  });
};
