import { performance } from 'node:perf_hooks';
import { ConfigSchema, createRuntime, TaskSpecSchema, type ResolvedTask, type Runtime, type TaskOutcome } from '../src/index.js';
import type { Mode, ModePorts } from './modes.js';
import { benchScript } from './script.js';
import {
  BENCH_BASE_COMMIT,
  BENCH_ROOT,
  createRecyclingRunner,
  createStubGate,
  createStubWorkspace,
  createTallyStore,
  type PhaseTrace,
  type RecyclingRunner,
  type StoreTally,
  type StubGate,
} from './stubs.js';

export interface HarnessOptions {
  readonly mode: Mode;
  readonly concurrency: number;
  /** Simulated latency of every role call (the eight model calls and the three gate runs). */
  readonly roleDelayMs: number;
  readonly trace?: PhaseTrace | undefined;
  /** Count store writes and their size (costs one more JSON.stringify per write). */
  readonly tally?: boolean;
}

export interface Harness {
  readonly runtime: Runtime;
  readonly gate: StubGate;
  readonly runner: RecyclingRunner;
  readonly tally: StoreTally | undefined;
  /** Specs are built here, before any timing starts. */
  makeTasks(count: number): ResolvedTask[];
  /** Submits every task at once (the runtime's scheduler applies the concurrency) and waits for all. */
  runAll(tasks: readonly ResolvedTask[]): Promise<RunResult>;
  /** One task at a time: each task's submit → outcome time is its orchestration time. */
  runSequential(tasks: readonly ResolvedTask[]): Promise<RunResult>;
  /**
   * Submits `count` new tasks and keeps no reference to them or their handles, so that a heap
   * figure taken afterwards counts only what the runtime holds.
   */
  submitDetached(count: number): Promise<void>;
  /** Throws unless every task the store knows is DONE with three commits. */
  checkAllDone(expected: number): Promise<void>;
  close(): Promise<void>;
}

interface RunResult {
  readonly wallMs: number;
  /** Submit → outcome per task, in submission order. */
  readonly taskMs: readonly number[];
  readonly outcomes: readonly TaskOutcome[];
}

/** Every role on the one scripted runner; distinct providers so no diversity rule could object. */
const ROLES = {
  planner: { provider: 'bench-a', model: 'planner', runner: 'scripted' },
  'plan-reviewer': { provider: 'bench-b', model: 'plan-reviewer', runner: 'scripted' },
  implementer: { provider: 'bench-c', model: 'implementer', runner: 'scripted' },
  'code-reviewer': { provider: 'bench-d', model: 'code-reviewer', runner: 'scripted' },
} as const;

let harnessSeq = 0;

export async function createHarness(options: HarnessOptions): Promise<Harness> {
  const ports: ModePorts = await options.mode.open();
  const tallied = options.tally ? createTallyStore(ports.store) : undefined;
  const runner = createRecyclingRunner({ script: benchScript(options.roleDelayMs), trace: options.trace });
  const gate = createStubGate({ delayMs: options.roleDelayMs, trace: options.trace });
  const runtime = createRuntime({
    config: ConfigSchema.parse({ concurrency: options.concurrency, roles: ROLES, limits: { retry_base_delay_ms: 0 } }),
    runners: new Map([['scripted', runner]]),
    store: tallied?.store ?? ports.store,
    bus: ports.bus,
    gate,
    workspace: createStubWorkspace({ trace: options.trace }),
  });
  const prefix = `B${(harnessSeq++).toString(36)}x`;
  let taskSeq = 0;

  const makeTasks = (count: number): ResolvedTask[] =>
    Array.from({ length: count }, () => {
      const id = `${prefix}${(taskSeq++).toString(36)}`;
      return {
        spec: TaskSpecSchema.parse({ id, goal: `Benchmark task ${id}: change value.txt in three steps` }),
        repo: `${BENCH_ROOT}/repo`,
        base: 'main',
        baseCommit: BENCH_BASE_COMMIT,
      };
    });

  const timed = (task: ResolvedTask): Promise<{ ms: number; outcome: TaskOutcome }> => {
    const started = performance.now();
    options.trace?.mark(task.spec.id, 'submit');
    return runtime
      .submit(task)
      .then((handle) => {
        options.trace?.mark(task.spec.id, 'submitted');
        return handle.outcome;
      })
      .then((outcome) => {
        options.trace?.mark(task.spec.id, 'outcome');
        return { ms: performance.now() - started, outcome };
      });
  };

  const check = (outcomes: readonly TaskOutcome[]): void => {
    const wrong = outcomes.find((o) => o.state !== 'DONE' || o.commits.length !== 3);
    if (wrong) throw new Error(`benchmark task ${wrong.id} ended ${wrong.state} with ${wrong.commits.length} commits: ${wrong.reason ?? 'no reason given'}`);
  };

  return {
    runtime,
    gate,
    runner,
    tally: tallied?.tally,
    makeTasks,
    async runAll(tasks) {
      const started = performance.now();
      const results = await Promise.all(tasks.map(timed));
      const wallMs = performance.now() - started;
      const outcomes = results.map((r) => r.outcome);
      check(outcomes);
      return { wallMs, taskMs: results.map((r) => r.ms), outcomes };
    },
    async runSequential(tasks) {
      const started = performance.now();
      const results: { ms: number; outcome: TaskOutcome }[] = [];
      for (const task of tasks) results.push(await timed(task));
      const wallMs = performance.now() - started;
      const outcomes = results.map((r) => r.outcome);
      check(outcomes);
      return { wallMs, taskMs: results.map((r) => r.ms), outcomes };
    },
    async submitDetached(count) {
      for (let i = 0; i < count; i++) {
        const [task] = makeTasks(1);
        if (task) await runtime.submit(task);
      }
    },
    async checkAllDone(expected) {
      const records = await runtime.list();
      if (records.length !== expected) throw new Error(`expected ${expected} benchmark tasks in the store, found ${records.length}`);
      const wrong = records.find((r) => r.state !== 'DONE' || r.commits.length !== 3);
      if (wrong) throw new Error(`benchmark task ${wrong.id} ended ${wrong.state} with ${wrong.commits.length} commits`);
    },
    async close() {
      gate.release();
      await runtime.close();
      await ports.close();
    },
  };
}
