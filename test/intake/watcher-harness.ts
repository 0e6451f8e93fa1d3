import { mkdir, mkdtemp, readdir, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Mediator } from '../../src/mediator/mediator.js';
import { createScriptedRunner, type ScriptedRunner } from '../../src/runners/scripted.js';
import type { ScriptInput } from '../../src/runners/scripted-script.js';
import { createFileStore } from '../../src/store/file-store.js';
import { createMemoryBus } from '../../src/bus/memory-bus.js';
import { createMemoryStore } from '../../src/store/memory-store.js';
import type { Store } from '../../src/store/store.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { type Runtime } from '../../src/runtime/runtime-api.js';
import type { LoadedTask } from '../../src/tasks/load-tasks.js';
import type { ResolvedTask } from '../../src/tasks/resolve-repos.js';
import { createTaskSummaries } from '../../src/intake/task-summary.js';
import { createTaskWatcher, type TaskWatcher } from '../../src/intake/watcher.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { fakeWorkspace, passingGate } from '../helpers/fake-ports.js';

/**
 * An in-process watcher on a real folder with a real runtime (scripted runner, file store) and a
 * workspace without git, so hundreds of tasks run in seconds. The process-level tests
 * (watcher.int.test.ts) run the real CLI against real repositories.
 */

export const approveAll: ScriptInput = {
  defaults: {
    planner: [{ respond: { task_id: 'X', steps: [{ id: 'S1', type: 'implementation', description: 'Write the note' }] } }],
    'plan-reviewer': [{ respond: { status: 'approved' } }],
    implementer: [{ respond: { explanation: 'wrote it', confidence: 0.9 } }],
    'code-reviewer': [{ respond: { status: 'approved' } }],
  },
};

export interface WatcherHarness {
  readonly root: string;
  readonly inbox: string;
  readonly runtime: Runtime;
  readonly runner: ScriptedRunner;
  readonly watcher: TaskWatcher;
  readonly store: Store;
  /** File names in a sub-folder of the inbox (or the inbox itself), sorted. */
  list(sub?: string): Promise<string[]>;
  read(sub: string, name: string): Promise<string>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly script?: ScriptInput;
  readonly mediator?: Mediator;
  readonly concurrency?: number;
  readonly settleMs?: number;
  /** The file store fsyncs every transition; a flood test about claiming does not need that cost. */
  readonly store?: 'file' | 'memory';
  /** Wraps the resolver (e.g. to make it fail); it receives the harness's own. */
  readonly resolve?: (own: (tasks: readonly LoadedTask[]) => Promise<ResolvedTask[]>) => (tasks: readonly LoadedTask[]) => Promise<ResolvedTask[]>;
  readonly maxClaimTries?: number;
}

export async function startHarness(options: HarnessOptions = {}): Promise<WatcherHarness> {
  const root = await realpath(await mkdtemp(join(tmpdir(), 'tandem-watch-')));
  const inbox = join(root, 'inbox');
  await mkdir(inbox);
  const store = options.store === 'memory' ? createMemoryStore() : await createFileStore({ dir: join(root, 'state', 'store'), lock: true });
  const runner = createScriptedRunner({ script: options.script ?? approveAll });
  const runtime = createRuntime({
    config: ConfigSchema.parse({ runner_override: 'scripted', concurrency: options.concurrency ?? 8 }),
    runners: new Map([['scripted', runner]]),
    store,
    bus: createMemoryBus(),
    gate: passingGate(),
    workspace: fakeWorkspace(),
  });
  const own = (tasks: readonly LoadedTask[]) => Promise.resolve(tasks.map((t) => ({ spec: t.spec, repo: root, base: 'main', baseCommit: 'b'.repeat(40) })));
  const resolve = options.resolve ? options.resolve(own) : own;
  const logger = silentLogger();
  const watcher = createTaskWatcher({
    dir: inbox,
    owner: 'w-test',
    runtime,
    resolve,
    summaries: createTaskSummaries({ mediator: options.mediator, logger }),
    logger,
    settleMs: options.settleMs ?? 60,
    pollMs: 20,
    ...(options.maxClaimTries === undefined ? {} : { maxClaimTries: options.maxClaimTries }),
  });
  await watcher.start();
  const list = async (sub?: string): Promise<string[]> => (await readdir(sub ? join(inbox, sub) : inbox).catch(() => [] as string[])).sort();
  return {
    root,
    inbox,
    runtime,
    runner,
    watcher,
    store,
    list,
    read: (sub, name) => readFile(join(inbox, sub, name), 'utf8'),
    async close() {
      await watcher.stop();
      await runtime.close();
      await store.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

export function taskFile(id: string, prompt = `Write the note for task ${id}.`, front: Record<string, string> = {}): string {
  const extra = Object.entries(front)
    .map(([k, v]) => `${k}: ${v}\n`)
    .join('');
  return `---\nid: ${id}\n${extra}---\n# Task: note ${id}\n\n**Prompt:**\n${prompt}\n`;
}

/** Event types of a task's log, in order. */
export async function loggedEvents(inbox: string, id: string): Promise<{ type: string; state?: string }[]> {
  const text = await readFile(join(inbox, 'logs', `${id}.jsonl`), 'utf8');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { type: string; state?: string });
}

export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
