import { mkdir, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { join, relative, isAbsolute, sep } from 'node:path';
import { loadScript } from '../runners/scripted-script.js';
import { createScriptedRunner } from '../runners/scripted.js';
import type { AgentRunner } from '../runners/agent-runner.js';
import { createRunners as createModelRunners, runnerSettingsFrom } from '../runners/registry.js';
import { createMemoryBus } from '../bus/memory-bus.js';
import { createFileStore } from '../store/file-store.js';
import type { Store } from '../store/store.js';
import type { LoadedConfig } from '../config/load-config.js';
import { InputError } from '../platform/errors.js';
import { settingsForWorktree } from '../gate/gate-settings.js';
import { createRatchetGate } from '../gate/ratchet-gate.js';
import type { QualityGate } from '../model/gate-report.js';
import { isProcessAlive, killProcessGroup } from '../platform/process/run-process.js';
import { createRuntime } from '../runtime/runtime.js';
import type { Runtime } from '../runtime/runtime-api.js';
import type { TaskOwnership } from '../runtime/task-outcome.js';
import type { InspectionEvent } from 'xstate';
import { bindTracing } from '../telemetry/bind-tracing.js';
import { bindMetrics } from '../telemetry/bind-metrics.js';
import { observeGate } from '../telemetry/gate-metrics.js';
import type { Logger } from '../telemetry/logger.js';
import { taskFactsFromStore } from '../telemetry/task-facts.js';
import type { Tracing } from '../telemetry/tracing.js';
import { createMetrics, type Metrics } from '../telemetry/metrics.js';
import { createGitWorkspace } from '../workspace/git-workspace.js';

export interface StatePaths {
  readonly root: string;
  readonly store: string;
  readonly worktrees: string;
  readonly pids: string;
  readonly logs: string;
}

export function statePaths(stateDir: string): StatePaths {
  return {
    root: stateDir,
    store: join(stateDir, 'store'),
    worktrees: join(stateDir, 'worktrees'),
    pids: join(stateDir, 'pids'),
    logs: join(stateDir, 'logs'),
  };
}

/**
 * Every runner a role can name: the model runners (lazy: a CLI is looked for on its first call) and,
 * when a role uses it, the scripted runner with its script loaded (and validated) before anything starts.
 */
export async function createRunners(loaded: LoadedConfig): Promise<Map<string, AgentRunner>> {
  const { config } = loaded;
  const runners = new Map<string, AgentRunner>(
    createModelRunners(runnerSettingsFrom(config.runners), { transcriptDir: join(loaded.stateDir, 'logs', 'runners') }),
  );
  const wanted = new Set(Object.values(config.roles).map((m) => config.runner_override ?? m.runner));
  if (wanted.has('scripted')) {
    const script = config.runners.scripted.script;
    if (!script) {
      throw new InputError([
        { file: loaded.file ?? 'command line', field: 'runners.scripted.script', message: 'the scripted runner needs a script: pass --script <file>' },
      ]);
    }
    runners.set('scripted', createScriptedRunner({ script: await loadScript(script) }));
  }
  return runners;
}

/**
 * The ratchet gate, with each repository's own settings (`.tandem/quality.yaml` of its main checkout
 * over `gate:` of the config, else the detected `npm test`); baselines are cached by commit in the
 * state dir. Every check's pid is recorded while it runs, so a crash cannot leave it running unseen.
 */
export function createGate(loaded: LoadedConfig, paths: StatePaths): QualityGate {
  const gate = createRatchetGate({
    settings: settingsForWorktree(loaded.config.gate),
    baselineDir: join(loaded.stateDir, 'gate-baselines'),
    scratchDir: paths.worktrees,
    stateDir: loaded.stateDir,
    onSpawn: ({ taskId, stepId, pid }) => {
      void writeFile(join(paths.pids, `${taskId}.${stepId}.${pid}.json`), JSON.stringify({ pid, taskId, stepId })).catch(() => undefined);
    },
  });
  return {
    async run(input) {
      try {
        return await gate.run(input);
      } finally {
        await forgetPids(paths.pids, `${input.taskId}.${input.stepId}.`);
      }
    },
  };
}

async function forgetPids(dir: string, prefix: string): Promise<void> {
  const files = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(files.filter((f) => f.startsWith(prefix)).map((f) => rm(join(dir, f), { force: true })));
}

/**
 * A supervisor killed with SIGKILL leaves its gate's child processes running in the worktree.
 * Their pids were recorded; kill every such group that is still alive and still inside our
 * worktrees (a reused pid elsewhere is left alone).
 */
async function reapOrphans(paths: StatePaths, logger: Logger): Promise<void> {
  const files = await readdir(paths.pids).catch(() => [] as string[]);
  for (const file of files) {
    const path = join(paths.pids, file);
    const record = await readFile(path, 'utf8')
      .then((text) => JSON.parse(text) as { pid?: unknown })
      .catch(() => undefined);
    const pid = typeof record?.pid === 'number' ? record.pid : undefined;
    if (pid !== undefined && isProcessAlive(pid)) {
      const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => '');
      if (cwd === paths.worktrees || cwd.startsWith(paths.worktrees + sep)) {
        killProcessGroup(pid, 'SIGKILL');
        logger.warn({ pid, cwd }, 'killed a check left running by a supervisor that died');
      }
    }
    await rm(path, { force: true });
  }
}

export interface OpenRuntime {
  readonly runtime: Runtime;
  readonly store: Store;
  readonly metrics: Metrics;
  readonly paths: StatePaths;
  close(): Promise<void>;
}

export interface OpenRuntimeOptions {
  readonly loaded: LoadedConfig;
  readonly runners: Map<string, AgentRunner>;
  readonly logger: Logger;
  /** Spans from the lifecycle events, when tracing is on. */
  readonly tracing?: Tracing | undefined;
  /** XState inspection (`--inspect`). */
  readonly inspect?: ((event: InspectionEvent) => void) | undefined;
  /** Asked before a queued task starts; false leaves it where it stands (a run that is stopping). */
  readonly mayStart?: ((taskId: string) => boolean) | undefined;
}

export async function openRuntime(options: OpenRuntimeOptions): Promise<OpenRuntime> {
  const { loaded, runners, logger } = options;
  const paths = statePaths(loaded.stateDir);
  await mkdir(paths.pids, { recursive: true });
  const store = await createFileStore({ dir: paths.store, lock: true });
  try {
    await reapOrphans(paths, logger);
  } catch (error) {
    await store.close();
    throw error;
  }
  const bus = createMemoryBus({
    onError: (error, subject) => logger.warn({ err: error, subject }, 'an event handler failed'),
    onInvalid: (reason) => logger.warn({ reason }, 'dropped an invalid bus message'),
  });
  const metrics = createMetrics({ processMetrics: true });
  const gate = observeGate(createGate(loaded, paths), metrics);
  const facts = taskFactsFromStore(store);
  const traced = options.tracing ? bindTracing(bus, options.tracing, { facts }) : undefined;
  // One process drives every task it sees: it counts them all.
  const counted = bindMetrics(bus, metrics, { facts });
  const runtime = createRuntime({
    config: loaded.config,
    runners,
    store,
    bus,
    gate,
    workspace: createGitWorkspace({ worktreesDir: paths.worktrees, stateDir: loaded.stateDir }),
    logger,
    ...(options.inspect ? { inspect: options.inspect } : {}),
    ...(options.mayStart ? { ownership: startGate(options.mayStart) } : {}),
  });
  return {
    runtime,
    store,
    metrics,
    paths,
    async close() {
      await runtime.close();
      counted.unsubscribe();
      traced?.close();
      await bus.close();
      await store.close();
    },
  };
}

/** One process owns every task it drives; it only declines to start more once it is stopping. */
function startGate(mayStart: (taskId: string) => boolean): TaskOwnership {
  return { claim: (taskId) => Promise.resolve(mayStart(taskId)), release: () => Promise.resolve() };
}

/** The state dir inside the target repository must never make it look dirty. */
export function relativeInside(parent: string, child: string): string | undefined {
  const rel = relative(parent, child);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : undefined;
}
