import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScript } from '../../src/runners/scripted-script.js';
import { createScriptedRunner } from '../../src/runners/scripted.js';
import type { Bus } from '../../src/bus/bus.js';
import { createFileStore } from '../../src/store/file-store.js';
import { createMemoryBus } from '../../src/bus/memory-bus.js';
import type { Store } from '../../src/store/store.js';
import { createDemoRepository, examplesDir } from '../../src/cli/demo.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { createCommandGate, detectDefaultChecks } from '../../src/gate/command-gate.js';
import type { QualityGate } from '../../src/model/gate-report.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { type Runtime } from '../../src/runtime/runtime-api.js';
import { type TaskOutcome } from '../../src/runtime/task-outcome.js';
import { loadTaskFiles } from '../../src/tasks/load-tasks.js';
import { resolveTaskRepos } from '../../src/tasks/resolve-repos.js';
import { createGitWorkspace } from '../../src/workspace/git-workspace.js';

export interface DemoRun {
  readonly bus: Bus;
  readonly store: Store;
  readonly runtime: Runtime;
  /** Submits the three demo tasks and waits for their outcomes. */
  run(): Promise<TaskOutcome[]>;
  close(): Promise<void>;
}

/**
 * `tandem demo` in-process: a fresh copy of examples/demo-repo, the demo tasks and script, the
 * repository's real `npm test` as the gate. The caller binds its telemetry to `bus` (and may wrap
 * the gate) before calling run(), as the CLI does around its runtime.
 */
export async function openDemo(options: { wrapGate?: (gate: QualityGate) => QualityGate } = {}): Promise<DemoRun> {
  const root = await realpath(await mkdtemp(join(tmpdir(), 'tandem-telemetry-demo-')));
  const { repo } = await createDemoRepository(root);
  const store = await createFileStore({ dir: join(root, 'state', 'store'), lock: true });
  const bus = createMemoryBus();
  const config = ConfigSchema.parse({ runner_override: 'scripted', concurrency: 2, limits: { retry_base_delay_ms: 0 } });
  const runner = createScriptedRunner({ script: await loadScript(join(examplesDir, 'demo', 'script.yaml')) });
  const commandGate: QualityGate = {
    run: async (input) => createCommandGate({ checks: await detectDefaultChecks(input.cwd), excerptLines: 20 }).run(input),
  };
  const runtime = createRuntime({
    config,
    runners: new Map([['scripted', runner]]),
    store,
    bus,
    gate: options.wrapGate ? options.wrapGate(commandGate) : commandGate,
    workspace: createGitWorkspace({ worktreesDir: join(root, 'state', 'worktrees') }),
  });
  return {
    bus,
    store,
    runtime,
    async run() {
      // The demo's code tasks: the dashboards' expected values were worked out for them (DEMO-4 is an
      // analysis task with no gate run and no commit).
      const all = await resolveTaskRepos(await loadTaskFiles([join(examplesDir, 'demo', 'tasks.yaml')]), { cwd: root, repo });
      const tasks = all.filter((task) => task.spec.type !== 'analyze');
      const handles = await Promise.all(tasks.map((task) => runtime.submit(task)));
      const outcomes = await Promise.all(handles.map((h) => h.outcome));
      await runtime.idle();
      return outcomes;
    },
    async close() {
      await runtime.close();
      await bus.close();
      await store.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}
