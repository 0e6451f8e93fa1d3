import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PlanSchema } from '../../src/model/role-outputs.js';
import { createScriptedRunner } from '../../src/runners/scripted.js';
import { loadScript } from '../../src/runners/scripted-script.js';

/**
 * The demo (examples/demo) promises that its scripted edits are real, working code: each step's last
 * attempt passes the demo repository's own tests, and only DEMO-3's first attempt fails them. This
 * replays the implementer's turns the way the runtime does (every attempt from a clean copy of the
 * previous step's result) and runs the real test suite after each one.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const demoRepo = path.join(root, 'examples/demo-repo');
const scriptFile = path.join(root, 'examples/demo/script.yaml');
const testTimeoutMs = 60_000;

interface TestRun {
  readonly passed: boolean;
  readonly output: string;
}

/** `node --test` in `dir` (the demo's `npm test`), killed with its whole process group on timeout. */
function runDemoTests(dir: string): Promise<TestRun> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    // The test runner's own loader hooks must not leak into the demo's plain node process.
    delete env.NODE_OPTIONS;
    const child = spawn(process.execPath, ['--test'], { cwd: dir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      reject(new Error(`node --test in ${dir} took longer than ${testTimeoutMs} ms:\n${output}`));
    }, testTimeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ passed: code === 0, output });
    });
  });
}

let base: string;

beforeEach(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'tandem-demo-'));
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('the demo repository', () => {
  it('has no dependencies and its tests pass as shipped', async () => {
    const manifest = JSON.parse(await readFile(path.join(demoRepo, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({ type: 'module', scripts: { test: 'node --test' } });
    expect(manifest).not.toHaveProperty('dependencies');
    expect(manifest).not.toHaveProperty('devDependencies');
    const work = path.join(base, 'repo');
    await cp(demoRepo, work, { recursive: true });
    const run = await runDemoTests(work);
    expect(run.passed, run.output).toBe(true);
  });
});

describe('the demo script, replayed on a copy of the demo repository', () => {
  // true = the real test suite passes after that attempt's edits.
  const expected: Record<string, Record<string, boolean[]>> = {
    'DEMO-1': { S1: [true], S2: [true] },
    'DEMO-2': { S1: [true, true], S2: [true] },
    'DEMO-3': { S1: [false, true] },
  };

  it.each(Object.keys(expected))('%s: every step ends with passing tests, failing only where the story says', async (taskId) => {
    const script = await loadScript(scriptFile);
    const runner = createScriptedRunner({ script });
    const planTurns = script.tasks[taskId]?.planner ?? [];
    const plan = PlanSchema.parse(planTurns[planTurns.length - 1]?.respond);
    let stepBase = path.join(base, 'start');
    await cp(demoRepo, stepBase, { recursive: true });
    const outcomes: Record<string, boolean[]> = {};
    const failures: string[] = [];
    for (const step of plan.steps) {
      const attempts = script.tasks[taskId]?.steps?.[step.id]?.implementer?.length ?? 0;
      outcomes[step.id] = [];
      for (let attempt = 1; attempt <= attempts; attempt += 1) {
        // Like the runtime, each attempt starts from the result of the previous step.
        const work = path.join(base, `${step.id}-attempt-${attempt}`);
        await cp(stepBase, work, { recursive: true });
        const result = await runner.run(
          {
            role: 'implementer',
            taskId,
            stepId: step.id,
            attempt,
            try: 0,
            prompt: step.description,
            cwd: work,
            model: { provider: 'scripted', model: 'demo', runner: 'scripted' },
            allowEdits: true,
            timeoutMs: 60_000,
          },
          { signal: new AbortController().signal },
        );
        expect([result.success, result.error], `${taskId} ${step.id} attempt ${attempt}`).toEqual([true, undefined]);
        const run = await runDemoTests(work);
        outcomes[step.id]?.push(run.passed);
        if (!run.passed) failures.push(run.output);
        if (attempt === attempts) stepBase = work;
      }
    }
    expect(outcomes).toEqual(expected[taskId]);
    if (taskId === 'DEMO-3') {
      // The deliberate bug: Math.floor on a negative amount, caught by the existing test.
      expect(failures).toHaveLength(1);
      expect(failures[0]).toContain("'-$2.50'");
      expect(failures[0]).toContain("'$-3.50'");
    }
  });
});
