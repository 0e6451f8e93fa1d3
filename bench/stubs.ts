import { performance } from 'node:perf_hooks';
import {
  createScriptedRunner,
  systemClock,
  type AgentRunner,
  type GateReport,
  type QualityGate,
  type ScriptInput,
  type Store,
  type Workspace,
} from '../src/index.js';
import type { RepoSnapshot } from '../src/workspace/workspace.js';
import type { Mark } from './phases.js';

/**
 * Stand-ins for everything the benchmark does not measure (git, the gate's commands, the model), so
 * that what remains is the orchestration: the machine, the store, the bus and the role actors.
 */

/** Per-task timestamps of effect starts and ends, for the phase breakdown. Off unless given. */
export interface PhaseTrace {
  mark(taskId: string, label: string): void;
}

export function createPhaseTrace(): PhaseTrace & { readonly marks: ReadonlyMap<string, readonly Mark[]>; clear(): void } {
  const marks = new Map<string, Mark[]>();
  return {
    marks,
    mark(taskId, label) {
      const at = performance.now();
      const list = marks.get(taskId);
      if (list) list.push({ label, at });
      else marks.set(taskId, [{ label, at }]);
    },
    clear: () => marks.clear(),
  };
}

const PASSING_REPORT: GateReport = {
  passed: true,
  checks: [{ name: 'tests', kind: 'tests', command: '(stubbed)', passed: true, exit_code: 0, timed_out: false, duration_ms: 0, excerpt: '', metrics: {} }],
  duration_ms: 0,
  summary: '1/1 checks passed',
};

export interface StubGate extends QualityGate {
  /** Later calls wait until `release()` (the in-flight heap measure parks tasks here). */
  hold(): void;
  release(): void;
  /** Calls waiting on a hold. */
  readonly held: number;
}

/** A quality gate whose checks are stubbed: it passes after `delayMs`, like a model call. */
export function createStubGate(options: { delayMs: number; trace?: PhaseTrace | undefined }): StubGate {
  let gateOpen: Promise<void> | undefined;
  let openGate: (() => void) | undefined;
  let held = 0;
  return {
    async run(input) {
      options.trace?.mark(input.taskId, 'gate');
      if (gateOpen) {
        held++;
        try {
          await gateOpen;
        } finally {
          held--;
        }
      }
      if (options.delayMs > 0) await systemClock.sleep(options.delayMs, input.signal);
      options.trace?.mark(input.taskId, 'gate.end');
      return PASSING_REPORT;
    },
    hold() {
      if (gateOpen) return;
      gateOpen = new Promise<void>((resolve) => (openGate = resolve));
    },
    release() {
      openGate?.();
      gateOpen = undefined;
      openGate = undefined;
    },
    get held() {
      return held;
    },
  };
}

/** Paths the stubs hand out; nothing exists there and nothing reads them. */
export const BENCH_ROOT = '/nonexistent/tandem-bench';
export const BENCH_BASE_COMMIT = 'b'.repeat(40);

const PATCH = ['diff --git a/value.txt b/value.txt', '--- a/value.txt', '+++ b/value.txt', '@@ -1 +1 @@', '-start', '+changed', ''].join('\n');

const SNAPSHOT: RepoSnapshot = { files: ['package.json', 'src/index.ts', 'test/index.test.ts', 'value.txt'], status: '', contextFiles: [] };

/**
 * A workspace without git: nothing is written anywhere, the planner sees a fixed small repository,
 * diffs are a fixed patch whose fingerprint changes on every call so the no-progress guard never
 * fires, and commits return a fake sha.
 */
export function createStubWorkspace(options: { trace?: PhaseTrace | undefined } = {}): Workspace {
  let diffs = 0;
  let commits = 0;
  return {
    ensure(input) {
      options.trace?.mark(input.taskId, 'ensure');
      return Promise.resolve({ path: `${BENCH_ROOT}/worktrees/${input.taskId}`, branch: `tandem/${input.taskId}` });
    },
    snapshot: () => Promise.resolve(SNAPSHOT),
    reset: () => Promise.resolve(),
    diff() {
      diffs++;
      return Promise.resolve({
        patch: PATCH,
        files: [{ path: 'value.txt', status: 'M', insertions: 1, deletions: 1 }],
        insertions: 1,
        deletions: 1,
        fingerprint: `fp-${diffs}`,
      });
    },
    commit(_path, input) {
      options.trace?.mark(input.taskId, 'commit');
      commits++;
      return Promise.resolve({ sha: commits.toString(16).padStart(40, '0'), created: true });
    },
    remove: () => Promise.resolve(),
  };
}

export interface RecyclingRunner extends AgentRunner {
  /**
   * Replaces the scripted runner with a fresh one. The scripted runner keeps every request it got
   * (prompts included) for tests to assert on; without this its log would be counted as heap the
   * runtime retains per task.
   */
  recycle(): void;
}

export function createRecyclingRunner(options: { script: ScriptInput; trace?: PhaseTrace | undefined }): RecyclingRunner {
  let inner = createScriptedRunner({ script: options.script });
  return {
    name: inner.name,
    async run(request, runOptions) {
      options.trace?.mark(request.taskId, request.role);
      const result = await inner.run(request, runOptions);
      options.trace?.mark(request.taskId, `${request.role}.end`);
      return result;
    },
    recycle() {
      inner = createScriptedRunner({ script: options.script });
    },
  };
}

export interface StoreTally {
  puts: number;
  /** Bytes of JSON of every value put, and the largest one. */
  bytes: number;
  largest: number;
  /** Writes per key family (the key's first token: `tasks`, `ledger`, …). */
  readonly families: Map<string, { puts: number; bytes: number }>;
}

/** Counts writes and their JSON size; serializes every value once more, so only for diagnostic runs. */
export function createTallyStore(store: Store): { store: Store; tally: StoreTally } {
  const tally: StoreTally = { puts: 0, bytes: 0, largest: 0, families: new Map() };
  return {
    tally,
    store: {
      get: (key) => store.get(key),
      put(key, value, putOptions) {
        const size = Buffer.byteLength(JSON.stringify(value));
        tally.puts++;
        tally.bytes += size;
        tally.largest = Math.max(tally.largest, size);
        const family = key.split('.')[0] ?? key;
        const counts = tally.families.get(family);
        if (counts) {
          counts.puts++;
          counts.bytes += size;
        } else {
          tally.families.set(family, { puts: 1, bytes: size });
        }
        return store.put(key, value, putOptions);
      },
      delete: (key, putOptions) => store.delete(key, putOptions),
      list: (prefix) => store.list(prefix),
      close: () => store.close(),
    },
  };
}
