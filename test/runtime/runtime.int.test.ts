import { existsSync } from 'node:fs';
import { mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ScriptInput } from '../../src/runners/scripted-script.js';
import {
  ConfigSchema,
  createCommandGate,
  createFileStore,
  createGitWorkspace,
  createMemoryBus,
  bindMetrics,
  createMetrics,
  createRuntime,
  createScriptedRunner,
  InputError,
  TaskRecordSchema,
  TaskSpecSchema,
  type ConfigInput,
  type Metrics,
  type ResolvedTask,
  type RunRequest,
  type Runtime,
  type ScriptedRunner,
  type TaskEvent,
  type TaskState,
} from '../../src/index.js';
import { createGitRepo, type GitRepo } from '../helpers/git-repo.js';

/**
 * The library API (src/index.ts) end to end: real git repositories and worktrees, the real file store,
 * the memory bus, the scripted runner and a command gate that runs a real check (`node check.mjs`).
 */

const CHECK_SCRIPT = `import { readFileSync } from 'node:fs';
const text = readFileSync('value.txt', 'utf8');
if (text.includes('BROKEN')) {
  console.error('check failed: value.txt says BROKEN');
  process.exit(1);
}
console.log('check passed');
`;

const PROJECT = { 'value.txt': 'start\n', 'check.mjs': CHECK_SCRIPT };

const ROLES = {
  planner: { provider: 'anthropic', model: 'planner-model', runner: 'scripted' },
  'plan-reviewer': { provider: 'google', model: 'plan-review-model', runner: 'scripted' },
  implementer: { provider: 'openai', model: 'impl-model', runner: 'scripted' },
  'code-reviewer': { provider: 'google', model: 'code-review-model', runner: 'scripted' },
} as const;

const APPROVED = { respond: { status: 'approved' } };

function plan(taskId: string, steps: readonly string[]) {
  return { respond: { task_id: taskId, steps: steps.map((id) => ({ id, type: 'implementation', description: `Write ${id}` })) } };
}

function edit(path: string, content: string, delayMs?: number) {
  return {
    ...(delayMs === undefined ? {} : { delay_ms: delayMs }),
    edits: [{ path, content }],
    respond: { explanation: `wrote ${content.trim()} to ${path}`, confidence: 0.8 },
  };
}

function needsChanges(change: string) {
  return { respond: { status: 'needs_changes', review: { required_changes: [change] } } };
}

function taskOf(repo: GitRepo, id: string): ResolvedTask {
  return { spec: TaskSpecSchema.parse({ id, goal: `Change value.txt for ${id}` }), repo: repo.dir, base: 'main', baseCommit: repo.head };
}

/** `Tandem-*` trailers of every commit on `range`, oldest first. */
async function trailersOf(repo: GitRepo, range: string): Promise<Record<string, string>[]> {
  const log = await repo.git('log', '--reverse', '--format=%B%x00', range);
  return log
    .split('\0')
    .map((body) => body.trim())
    .filter((body) => body !== '')
    .map((body) => {
      const trailers: Record<string, string> = {};
      for (const line of body.split('\n')) {
        const match = /^(Tandem-[A-Za-z]+): (.*)$/.exec(line);
        if (match?.[1] !== undefined && match[2] !== undefined) trailers[match[1]] = match[2];
      }
      return trailers;
    });
}

function statesOf(events: readonly TaskEvent[], taskId: string): TaskState[] {
  return events.flatMap((e) => (e.type === 'task.state' && e.taskId === taskId ? [e.state] : []));
}

function callsOf(runner: ScriptedRunner, role: RunRequest['role'], stepId?: string): RunRequest[] {
  return runner.calls().filter((c) => c.role === role && (stepId === undefined || c.stepId === stepId));
}

interface Harness {
  readonly repo: GitRepo;
  readonly runtime: Runtime;
  readonly runner: ScriptedRunner;
  readonly metrics: Metrics;
  readonly events: TaskEvent[];
  readonly storeDir: string;
  readonly worktreesDir: string;
}

describe('runtime (library API, real git, file store, scripted runner, command gate)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function start(options: {
    script: ScriptInput;
    concurrency?: number;
    limits?: NonNullable<ConfigInput['limits']>;
    standards?: ConfigInput['standards'];
  }): Promise<Harness> {
    const repo = await createGitRepo(PROJECT);
    cleanups.push(() => repo.cleanup());
    const stateDir = await realpath(await mkdtemp(join(tmpdir(), 'tandem-runtime-state-')));
    cleanups.push(() => rm(stateDir, { recursive: true, force: true }));
    const storeDir = join(stateDir, 'store');
    const worktreesDir = join(stateDir, 'worktrees');
    const store = await createFileStore({ dir: storeDir, lock: true });
    const bus = createMemoryBus();
    cleanups.push(async () => {
      await bus.close();
      await store.close();
    });
    const runner = createScriptedRunner({ script: options.script });
    const metrics = createMetrics();
    const config = ConfigSchema.parse({
      concurrency: options.concurrency ?? 2,
      roles: ROLES,
      limits: { retry_base_delay_ms: 0, ...options.limits },
      ...(options.standards ? { standards: options.standards } : {}),
    });
    const runtime = createRuntime({
      config,
      runners: new Map([['scripted', runner]]),
      store,
      bus,
      gate: createCommandGate({ checks: [{ name: 'check', kind: 'custom', command: 'node check.mjs', timeout_ms: 30_000 }], excerptLines: 20 }),
      workspace: createGitWorkspace({ worktreesDir }),
    });
    // The host counts metrics from the bus (the runtime only publishes events).
    const counted = bindMetrics(bus, metrics);
    cleanups.push(() => Promise.resolve(counted.unsubscribe()));
    cleanups.push(() => runtime.close());
    const events: TaskEvent[] = [];
    runtime.onEvent((event) => events.push(event));
    return { repo, runtime, runner, metrics, events, storeDir, worktreesDir };
  }

  it('runs a two-step task to DONE with one trailered commit per step, leaving the base branch and the user checkout alone', async () => {
    const h = await start({
      script: {
        defaults: { 'plan-reviewer': [APPROVED], 'code-reviewer': [APPROVED] },
        tasks: {
          T1: {
            planner: [plan('T1', ['S1', 'S2'])],
            steps: { S1: { implementer: [edit('value.txt', 'one\n')] }, S2: { implementer: [edit('second.txt', 'two\n')] } },
          },
        },
      },
    });
    // Something the user had lying around in their checkout, never committed.
    await writeFile(join(h.repo.dir, 'notes.txt'), 'my notes\n');
    const statusBefore = await h.repo.git('status', '--porcelain');
    expect(statusBefore).toBe('?? notes.txt');

    const outcome = await (await h.runtime.submit(taskOf(h.repo, 'T1'))).outcome;
    await h.runtime.idle();

    expect(outcome.state).toBe('DONE');
    expect(outcome.branch).toBe('tandem/T1');
    expect(outcome.commits.map((c) => c.stepId)).toEqual(['S1', 'S2']);
    expect(await h.repo.git('rev-list', '--reverse', 'main..tandem/T1')).toBe(outcome.commits.map((c) => c.sha).join('\n'));
    expect(await trailersOf(h.repo, 'main..tandem/T1')).toEqual([
      {
        'Tandem-Task': 'T1',
        'Tandem-Step': 'S1',
        'Tandem-Attempt': '1',
        'Tandem-Implementer': 'openai/impl-model',
        'Tandem-Reviewer': 'google/code-review-model',
        'Tandem-Gate': '1/1 checks passed',
      },
      {
        'Tandem-Task': 'T1',
        'Tandem-Step': 'S2',
        'Tandem-Attempt': '1',
        'Tandem-Implementer': 'openai/impl-model',
        'Tandem-Reviewer': 'google/code-review-model',
        'Tandem-Gate': '1/1 checks passed',
      },
    ]);
    // Each commit holds exactly its own step's change.
    const [s1, s2] = outcome.commits;
    expect(await h.repo.git('show', '--name-only', '--format=', s1?.sha ?? '')).toBe('value.txt');
    expect(await h.repo.git('show', '--name-only', '--format=', s2?.sha ?? '')).toBe('second.txt');
    expect(await h.repo.git('show', 'tandem/T1:value.txt')).toBe('one');

    // The base branch and the user's checkout are exactly as they were.
    expect(await h.repo.git('rev-parse', 'main')).toBe(h.repo.head);
    expect(await h.repo.git('symbolic-ref', '--short', 'HEAD')).toBe('main');
    expect(await h.repo.git('status', '--porcelain')).toBe(statusBefore);
    expect(await readFile(join(h.repo.dir, 'value.txt'), 'utf8')).toBe('start\n');
    expect(await readFile(join(h.repo.dir, 'notes.txt'), 'utf8')).toBe('my notes\n');

    // The worktree was scratch space: gone once DONE, the branch keeps the work.
    const record = await h.runtime.get('T1');
    expect(record?.state).toBe('DONE');
    expect(record?.worktreePath).toBe(join(h.worktreesDir, 'T1'));
    expect(existsSync(join(h.worktreesDir, 'T1'))).toBe(false);
    expect(await h.repo.git('worktree', 'list', '--porcelain')).not.toContain(join(h.worktreesDir, 'T1'));

    // The record is durable in the file store: a second store on the same folder reads it.
    await h.runtime.close();
    const reader = await createFileStore({ dir: h.storeDir });
    try {
      const entry = await reader.get('tasks.T1');
      const stored = TaskRecordSchema.parse(entry?.value);
      expect(stored.state).toBe('DONE');
      expect(stored.commits).toEqual(outcome.commits);
    } finally {
      await reader.close();
    }
  });

  it('publishes every lifecycle state of a task in order, PLANNED included', async () => {
    const h = await start({
      script: {
        defaults: { 'plan-reviewer': [APPROVED], 'code-reviewer': [APPROVED] },
        tasks: { T1: { planner: [plan('T1', ['S1'])], steps: { S1: { implementer: [edit('value.txt', 'one\n')] } } } },
      },
    });
    const outcome = await (await h.runtime.submit(taskOf(h.repo, 'T1'))).outcome;
    await h.runtime.idle();

    expect(outcome.state).toBe('DONE');
    const expected: TaskState[] = [
      'NEW',
      'PLANNING',
      'PLAN_REVIEW',
      'PLANNED',
      'IMPLEMENTING',
      'CODE_REVIEW',
      'QUALITY_GATE',
      'STEP_COMPLETE',
      'VALIDATING',
      'DONE',
    ];
    expect(statesOf(h.events, 'T1')).toEqual(expected);
    const previous = h.events.flatMap((e) => (e.type === 'task.state' ? [e.previous] : []));
    expect(previous).toEqual([undefined, ...expected.slice(0, -1)]);
    // The commit is announced before the task is DONE, and task.finished comes last.
    const kinds = h.events.map((e) => (e.type === 'task.state' ? `state:${e.state}` : e.type));
    expect(kinds.indexOf('step.committed')).toBeGreaterThan(kinds.indexOf('state:STEP_COMPLETE'));
    expect(kinds.indexOf('step.committed')).toBeLessThan(kinds.indexOf('state:DONE'));
    expect(kinds.at(-1)).toBe('task.finished');
    const finished = h.events.at(-1);
    expect(finished?.type === 'task.finished' ? [finished.state, finished.branch, finished.commits] : undefined).toEqual([
      'DONE',
      'tandem/T1',
      outcome.commits.map((c) => c.sha),
    ]);
    // Role events say which role and model answered, labelled as the scripted runner.
    const roles = h.events.flatMap((e) => (e.type === 'role.finished' ? [`${e.role}:${e.model}:${e.runner}:${e.verdict ?? ''}`] : []));
    expect(roles).toEqual([
      'planner:planner-model:scripted:plan with 1 step',
      'plan-reviewer:plan-review-model:scripted:approved',
      'implementer:impl-model:scripted:confidence 0.8',
      'code-reviewer:code-review-model:scripted:approved',
      // The validator follows the pinned code reviewer (and the script's implicit pass).
      'validator:code-review-model:scripted:pass',
    ]);
  });

  it('exposes the DESIGN §10 metrics after a run', async () => {
    const h = await start({
      script: {
        defaults: { 'plan-reviewer': [APPROVED], 'code-reviewer': [APPROVED] },
        tasks: { T1: { planner: [plan('T1', ['S1'])], steps: { S1: { implementer: [edit('value.txt', 'one\n')] } } } },
      },
    });
    const outcome = await (await h.runtime.submit(taskOf(h.repo, 'T1'))).outcome;
    await h.runtime.idle();
    expect(outcome.state).toBe('DONE');

    const text = await h.metrics.registry.metrics();
    expect(text).toContain('orchestrator_tasks_total{status="DONE"} 1\n');
    expect(text).toContain('orchestrator_llm_calls_total{provider="anthropic",model="planner-model",role="planner"} 1\n');
    expect(text).toContain('orchestrator_llm_calls_total{provider="openai",model="impl-model",role="implementer"} 1\n');
    expect(text).toContain('orchestrator_quality_gate_runs_total{status="passed"} 1\n');
    expect(text).toContain('orchestrator_task_duration_seconds_count{status="DONE"} 1\n');
    for (const name of [
      'orchestrator_tasks_total',
      'orchestrator_task_duration_seconds',
      'orchestrator_steps_total',
      'orchestrator_llm_calls_total',
      'orchestrator_llm_tokens_total',
      'orchestrator_llm_cost_usd',
      'orchestrator_quality_gate_runs_total',
      'orchestrator_quality_regressions_total',
      'orchestrator_model_routing',
    ]) {
      expect(text, name).toMatch(new RegExp(`^# TYPE ${name} (counter|histogram|gauge)$`, 'm'));
    }
  });

  it('sends a code review that asks for changes back to the implementer, and commits the approved second attempt', async () => {
    const h = await start({
      script: {
        defaults: { 'plan-reviewer': [APPROVED] },
        tasks: {
          T1: {
            planner: [plan('T1', ['S1'])],
            steps: {
              S1: {
                implementer: [edit('value.txt', 'first try\n'), edit('value.txt', 'second try\n')],
                'code-reviewer': [needsChanges('Handle the empty value case'), APPROVED],
              },
            },
          },
        },
      },
    });
    const outcome = await (await h.runtime.submit(taskOf(h.repo, 'T1'))).outcome;
    await h.runtime.idle();

    expect(outcome.state).toBe('DONE');
    const implementer = callsOf(h.runner, 'implementer', 'S1');
    expect(implementer.map((c) => c.attempt)).toEqual([1, 2]);
    expect(implementer[0]?.prompt).not.toContain('Handle the empty value case');
    expect(implementer[1]?.prompt).toContain('## This is attempt 2.');
    expect(implementer[1]?.prompt).toContain('The code reviewer answered "needs_changes".\nRequired changes:\n- Handle the empty value case');
    expect(callsOf(h.runner, 'code-reviewer', 'S1').map((c) => c.attempt)).toEqual([1, 2]);
    expect(await h.repo.git('show', 'tandem/T1:value.txt')).toBe('second try');
    expect((await trailersOf(h.repo, 'main..tandem/T1')).map((t) => [t['Tandem-Step'], t['Tandem-Attempt']])).toEqual([['S1', '2']]);
  });

  it('feeds a failed quality gate back to the implementer and commits once the check passes', async () => {
    const h = await start({
      script: {
        defaults: { 'plan-reviewer': [APPROVED], 'code-reviewer': [APPROVED] },
        tasks: {
          T1: {
            planner: [plan('T1', ['S1'])],
            steps: { S1: { implementer: [edit('value.txt', 'BROKEN\n'), edit('value.txt', 'fixed\n')] } },
          },
        },
      },
    });
    const outcome = await (await h.runtime.submit(taskOf(h.repo, 'T1'))).outcome;
    await h.runtime.idle();

    expect(outcome.state).toBe('DONE');
    const gates = h.events.flatMap((e) => (e.type === 'gate.finished' ? [[e.attempt, e.passed, e.summary]] : []));
    expect(gates).toEqual([
      [1, false, '1 of 1 checks failed: check'],
      [2, true, '1/1 checks passed'],
    ]);
    const implementer = callsOf(h.runner, 'implementer', 'S1');
    expect(implementer).toHaveLength(2);
    expect(implementer[0]?.prompt).not.toContain('The quality gate failed');
    expect(implementer[1]?.prompt).toContain('The quality gate failed: 1 of 1 checks failed: check.');
    expect(implementer[1]?.prompt).toContain('check failed: value.txt says BROKEN');
    expect(await h.repo.git('show', 'tandem/T1:value.txt')).toBe('fixed');
    expect((await trailersOf(h.repo, 'main..tandem/T1')).map((t) => [t['Tandem-Attempt'], t['Tandem-Gate']])).toEqual([['2', '1/1 checks passed']]);
  });

  it('gives the repository’s coding standards (text and files from the worktree) to the implementer, the code reviewer and the validator', async () => {
    const h = await start({
      script: {
        defaults: { 'plan-reviewer': [APPROVED], 'code-reviewer': [APPROVED] },
        tasks: { T1: { planner: [plan('T1', ['S1'])], steps: { S1: { implementer: [edit('value.txt', 'one\n')] } } } },
      },
      standards: { text: 'Every value ends with a newline.', files: ['STYLE.md', 'docs/missing.md'] },
    });
    await writeFile(join(h.repo.dir, 'STYLE.md'), '# Style\nWrite numbers as words.\n');
    await h.repo.git('add', 'STYLE.md');
    await h.repo.git('commit', '-q', '-m', 'style');
    const head = (await h.repo.git('rev-parse', 'HEAD')).trim();
    const task = { ...taskOf(h.repo, 'T1'), baseCommit: head };
    expect((await (await h.runtime.submit(task)).outcome).state).toBe('DONE');
    for (const role of ['implementer', 'code-reviewer', 'validator'] as const) {
      const prompt = callsOf(h.runner, role)[0]?.prompt ?? '';
      expect(prompt, role).toContain("## The repository's coding standards");
      expect(prompt, role).toContain('Every value ends with a newline.');
      expect(prompt, role).toContain('### STYLE.md\n# Style\nWrite numbers as words.');
      expect(prompt, role).toContain('(docs/missing.md is named as a standards file but is not in the repository)');
    }
    expect(callsOf(h.runner, 'planner')[0]?.prompt).not.toContain('coding standards');
  });

  it('hands the plan reviewer’s revised_plan to the next planning round', async () => {
    const revised = { task_id: 'T1', steps: [{ id: 'S1', type: 'implementation', description: 'Write value.txt and check it with the gate' }] };
    const h = await start({
      script: {
        defaults: { 'code-reviewer': [APPROVED] },
        tasks: {
          T1: {
            planner: [plan('T1', ['S1']), plan('T1', ['S1'])],
            'plan-reviewer': [
              { respond: { status: 'needs_revision', review: { concerns: ['S1 says nothing about the check'] }, revised_plan: revised } },
              APPROVED,
            ],
            steps: { S1: { implementer: [edit('value.txt', 'one\n')] } },
          },
        },
      },
    });
    expect((await (await h.runtime.submit(taskOf(h.repo, 'T1'))).outcome).state).toBe('DONE');
    const planner = callsOf(h.runner, 'planner');
    expect(planner).toHaveLength(2);
    expect(planner[0]?.prompt).not.toContain('revised plan');
    expect(planner[1]?.prompt).toContain('- S1 says nothing about the check');
    expect(planner[1]?.prompt).toContain('The reviewer proposed this revised plan. Start from it');
    expect(planner[1]?.prompt).toContain('"description": "Write value.txt and check it with the gate"');
  });

  it('retries a planner answer that is not JSON with the validation error, and accepts the second try', async () => {
    const h = await start({
      script: {
        defaults: { 'plan-reviewer': [APPROVED], 'code-reviewer': [APPROVED] },
        tasks: {
          T1: {
            planner: [{ before: [{ raw: 'Sure! First I will edit value.txt, then run the check.' }], ...plan('T1', ['S1']) }],
            steps: { S1: { implementer: [edit('value.txt', 'one\n')] } },
          },
        },
      },
    });
    const outcome = await (await h.runtime.submit(taskOf(h.repo, 'T1'))).outcome;
    await h.runtime.idle();

    expect(outcome.state).toBe('DONE');
    const planner = callsOf(h.runner, 'planner');
    expect(planner.map((c) => [c.attempt, c.try])).toEqual([
      [1, 0],
      [1, 1],
    ]);
    expect(planner[0]?.prompt).not.toContain('Your previous answer was rejected');
    expect(planner[1]?.prompt).toContain('## Your previous answer was rejected\n');
    const finished = h.events.flatMap((e) => (e.type === 'role.finished' && e.role === 'planner' ? [[e.tries, e.success]] : []));
    expect(finished).toEqual([[2, true]]);
  });

  it('counts a planner that never answers valid JSON as failed attempts, then waits for a person with the reason', async () => {
    const h = await start({
      script: {
        defaults: { 'plan-reviewer': [APPROVED], 'code-reviewer': [APPROVED] },
        tasks: { T1: { planner: [{ raw: 'I cannot produce a plan.' }] } },
      },
      limits: { max_attempts: 3, max_output_repairs: 2 },
    });
    const outcome = await (await h.runtime.submit(taskOf(h.repo, 'T1'))).outcome;
    await h.runtime.idle();

    expect(outcome.state).toBe('AWAITING_HUMAN_REVIEW');
    expect(outcome.reason).toMatch(/^the planner failed 3 times; last: bad_output: /);
    const record = await h.runtime.get('T1');
    expect(record?.waiting?.stage).toBe('plan');
    expect(record?.waiting?.kind).toBe('role_failed');
    // 3 attempts, each with the first try and 2 repairs; nothing else was called.
    expect(h.runner.calls().map((c) => [c.role, c.attempt, c.try])).toEqual([
      ['planner', 1, 0],
      ['planner', 1, 1],
      ['planner', 1, 2],
      ['planner', 2, 0],
      ['planner', 2, 1],
      ['planner', 2, 2],
      ['planner', 3, 0],
      ['planner', 3, 1],
      ['planner', 3, 2],
    ]);
    expect(callsOf(h.runner, 'planner')[3]?.prompt).toContain('Your previous answer failed: bad_output: ');
    const finished = h.events.flatMap((e) => (e.type === 'role.finished' ? [[e.role, e.tries, e.success, e.error_kind]] : []));
    expect(finished).toEqual([
      ['planner', 3, false, 'bad_output'],
      ['planner', 3, false, 'bad_output'],
      ['planner', 3, false, 'bad_output'],
    ]);
    expect(statesOf(h.events, 'T1').at(-1)).toBe('AWAITING_HUMAN_REVIEW');
    expect(await h.repo.git('rev-list', '--count', 'main..tandem/T1')).toBe('0');
  });

  describe('decisions on a task waiting for a person (runtime.decide)', () => {
    /** S1's code review never approves, so after 2 attempts the task waits for a person on S1. */
    function waitingScript(steps: readonly string[]): ScriptInput {
      return {
        defaults: { 'plan-reviewer': [APPROVED], 'code-reviewer': [APPROVED] },
        tasks: {
          T1: {
            planner: [plan('T1', steps)],
            steps: {
              S1: {
                implementer: [edit('value.txt', 'attempt one\n'), edit('value.txt', 'attempt two\n'), edit('value.txt', 'attempt three\n')],
                'code-reviewer': [needsChanges('Use upper case'), needsChanges('Still not upper case'), APPROVED],
              },
              S2: { implementer: [edit('second.txt', 'two\n')] },
            },
          },
        },
      };
    }

    async function waiting(steps: readonly string[] = ['S1']): Promise<Harness> {
      const h = await start({ script: waitingScript(steps), limits: { max_attempts: 2 } });
      const outcome = await (await h.runtime.submit(taskOf(h.repo, 'T1'))).outcome;
      expect(outcome.state).toBe('AWAITING_HUMAN_REVIEW');
      expect(outcome.reason).toMatch(/^the code review did not approve after 2 attempts: /);
      expect((await h.runtime.get('T1'))?.waiting?.stage).toBe('step');
      return h;
    }

    it('approve: commits the step as it is, recording that a person approved it', async () => {
      const h = await waiting();
      const outcome = await (await h.runtime.decide('T1', { decision: 'approve' })).outcome;
      await h.runtime.idle();

      expect(outcome.state).toBe('DONE');
      expect(await h.repo.git('show', 'tandem/T1:value.txt')).toBe('attempt two');
      const [trailers] = await trailersOf(h.repo, 'main..tandem/T1');
      expect([trailers?.['Tandem-Step'], trailers?.['Tandem-Reviewer'], trailers?.['Tandem-Gate']]).toEqual([
        'S1',
        'person',
        'approved by a person (gate not passed)',
      ]);
      // A finished task takes no more decisions.
      await expect(h.runtime.decide('T1', { decision: 'approve' })).rejects.toThrow(InputError);
    });

    it("feedback: retries the step with the person's text and finishes", async () => {
      const h = await waiting();
      const outcome = await (await h.runtime.decide('T1', { decision: 'feedback', text: 'Write it in capitals, like ATTEMPT THREE.' })).outcome;
      await h.runtime.idle();

      expect(outcome.state).toBe('DONE');
      const implementer = callsOf(h.runner, 'implementer', 'S1');
      expect(implementer.map((c) => c.attempt)).toEqual([1, 2, 3]);
      expect(implementer[2]?.prompt).toContain('A person reviewed your change and says:\nWrite it in capitals, like ATTEMPT THREE.');
      expect(await h.repo.git('show', 'tandem/T1:value.txt')).toBe('attempt three');
      expect((await trailersOf(h.repo, 'main..tandem/T1')).map((t) => [t['Tandem-Attempt'], t['Tandem-Reviewer']])).toEqual([
        ['3', 'google/code-review-model'],
      ]);
    });

    it("skip_step: drops the waiting step's changes and goes on with the next step", async () => {
      const h = await waiting(['S1', 'S2']);
      const outcome = await (await h.runtime.decide('T1', { decision: 'skip_step' })).outcome;
      await h.runtime.idle();

      expect(outcome.state).toBe('DONE');
      expect(outcome.commits.map((c) => c.stepId)).toEqual(['S2']);
      expect(await h.repo.git('rev-list', '--count', 'main..tandem/T1')).toBe('1');
      expect(await h.repo.git('diff', '--name-only', 'main', 'tandem/T1')).toBe('second.txt');
      expect(await h.repo.git('show', 'tandem/T1:value.txt')).toBe('start');
    });

    it('abort: removes the worktree and the branch', async () => {
      const h = await waiting();
      const worktree = (await h.runtime.get('T1'))?.worktreePath;
      expect(worktree).toBe(join(h.worktreesDir, 'T1'));
      expect(existsSync(join(h.worktreesDir, 'T1'))).toBe(true);

      const outcome = await (await h.runtime.decide('T1', { decision: 'abort' })).outcome;
      await h.runtime.idle();

      expect(outcome.state).toBe('ABORTED');
      expect(outcome.reason).toBe('aborted by a person');
      expect(existsSync(join(h.worktreesDir, 'T1'))).toBe(false);
      expect(await h.repo.git('branch', '--list', 'tandem/T1')).toBe('');
      expect(await h.repo.git('worktree', 'list', '--porcelain')).not.toContain(join(h.worktreesDir, 'T1'));
      expect(await h.repo.git('rev-parse', 'main')).toBe(h.repo.head);
      expect(statesOf(h.events, 'T1').at(-1)).toBe('ABORTED');
    });
  });

  it('rejects a second submit of the same task id with an InputError and keeps the first task', async () => {
    const h = await start({
      script: {
        defaults: { 'plan-reviewer': [APPROVED], 'code-reviewer': [APPROVED] },
        tasks: { T1: { planner: [plan('T1', ['S1'])], steps: { S1: { implementer: [edit('value.txt', 'one\n')] } } } },
      },
    });
    const first = await h.runtime.submit(taskOf(h.repo, 'T1'));
    const second = h.runtime.submit(taskOf(h.repo, 'T1'));
    await expect(second).rejects.toThrow(InputError);
    const error = await second.catch((e: unknown) => e);
    const issues = error instanceof InputError ? error.issues : [];
    expect(issues.map((i) => i.field)).toEqual(['id']);
    expect(issues[0]?.message).toMatch(/^a task with id T1 already exists in this state dir \(state [A-Z_]+\); /);
    expect((await first.outcome).state).toBe('DONE');
    await h.runtime.idle();
    expect(statesOf(h.events, 'T1').filter((s) => s === 'NEW')).toHaveLength(1);
    expect(await h.repo.git('rev-list', '--count', 'main..tandem/T1')).toBe('1');
  });

  it('runs two tasks in parallel in one repository without interfering', async () => {
    const delay = 300;
    const h = await start({
      concurrency: 2,
      script: {
        defaults: { 'plan-reviewer': [APPROVED], 'code-reviewer': [APPROVED] },
        tasks: {
          PA: { planner: [plan('PA', ['S1'])], steps: { S1: { implementer: [edit('value.txt', 'from A\n', delay)] } } },
          PB: { planner: [plan('PB', ['S1'])], steps: { S1: { implementer: [edit('value.txt', 'from B\n', delay)] } } },
        },
      },
    });
    const a = await h.runtime.submit(taskOf(h.repo, 'PA'));
    const b = await h.runtime.submit(taskOf(h.repo, 'PB'));
    const [outA, outB] = await Promise.all([a.outcome, b.outcome]);
    await h.runtime.idle();

    expect([outA.state, outB.state]).toEqual(['DONE', 'DONE']);
    expect(await h.repo.git('show', 'tandem/PA:value.txt')).toBe('from A');
    expect(await h.repo.git('show', 'tandem/PB:value.txt')).toBe('from B');
    for (const id of ['PA', 'PB']) {
      expect(await h.repo.git('diff', '--name-only', 'main', `tandem/${id}`)).toBe('value.txt');
      expect((await trailersOf(h.repo, `main..tandem/${id}`)).map((t) => t['Tandem-Task'])).toEqual([id]);
    }
    const [recA, recB] = [await h.runtime.get('PA'), await h.runtime.get('PB')];
    expect(recA?.worktreePath).toBe(join(h.worktreesDir, 'PA'));
    expect(recB?.worktreePath).toBe(join(h.worktreesDir, 'PB'));
    // They really overlapped: each one was implementing before the other was done.
    const at = (id: string, state: TaskState): number => h.events.findIndex((e) => e.type === 'task.state' && e.taskId === id && e.state === state);
    expect(at('PA', 'IMPLEMENTING')).toBeLessThan(at('PB', 'DONE'));
    expect(at('PB', 'IMPLEMENTING')).toBeLessThan(at('PA', 'DONE'));
    expect(await h.repo.git('rev-parse', 'main')).toBe(h.repo.head);
    expect(await h.repo.git('status', '--porcelain')).toBe('');
  });
});
