import { mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StatusReportSchema, type TaskStatus } from '../../src/model/task-status.js';
import { createGitRepo, type GitRepo } from '../helpers/git-repo.js';
import { tandem, type CliResult } from '../helpers/run-cli.js';

/**
 * The validator after the last step (seeds 000/001), through `tandem run`, `status` and `review`
 * with the scripted runner, a real repository and a real gate command: a pass, a failure the
 * implementer fixes, an escalation a person approves, and a verdict too unsure to stand.
 */

/** One task per validator behaviour; each writes greeting.txt in one step, and V2 fixes it when told. */
const SCRIPT = `defaults:
  plan-reviewer: [ { respond: { status: approved } } ]
  code-reviewer: [ { respond: { status: approved } } ]
  implementer:
    - edits: [ { path: greeting.txt, content: "hello\\n" } ]
      respond: { explanation: wrote the greeting, confidence: 0.9 }
    - edits: [ { path: greeting.txt, content: "hello!\\n" } ]
      respond: { explanation: added the exclamation mark, confidence: 0.9 }
tasks:
  V1:
    planner: [ { respond: { task_id: V1, steps: [ { id: S1, type: implementation, description: Write the greeting } ] } } ]
    validator:
      - respond: { pass: true, issues: [], confidence: 0.95, escalate: false }
  V2:
    planner: [ { respond: { task_id: V2, steps: [ { id: S1, type: implementation, description: Write the greeting } ] } } ]
    validator:
      - respond: { pass: false, issues: [ "greeting.txt must end with an exclamation mark" ], confidence: 0.9, escalate: false }
      - respond: { pass: true, issues: [], confidence: 0.9, escalate: false }
  V3:
    planner: [ { respond: { task_id: V3, steps: [ { id: S1, type: implementation, description: Write the greeting } ] } } ]
    validator:
      - respond: { pass: true, issues: [ "the goal does not say which greeting" ], confidence: 0.9, escalate: true }
  V4:
    planner: [ { respond: { task_id: V4, steps: [ { id: S1, type: implementation, description: Write the greeting } ] } } ]
    validator:
      - respond: { pass: false, issues: [ "maybe it should shout" ], confidence: 0.3, escalate: false }
      - respond: { pass: true, issues: [], confidence: 0.9, escalate: false }
`;

const CONFIG = `gate:
  checks:
    - name: greeting
      command: grep -q hello greeting.txt
      timeout_ms: 30000
`;

function task(id: string): string {
  return `tasks:\n  - id: ${id}\n    goal: Write a greeting\n    success_criteria: [ "greeting.txt says hello" ]\n`;
}

describe('tandem run with the validator', () => {
  let work: string;
  let repo: GitRepo;
  let runArgs: string[];

  beforeEach(async () => {
    work = await realpath(await mkdtemp(join(tmpdir(), 'tandem-validate-')));
    repo = await createGitRepo({ 'README.md': '# project\n' });
    await writeFile(join(work, 'script.yaml'), SCRIPT);
    await writeFile(join(work, 'tandem.config.yaml'), CONFIG);
    runArgs = ['--repo', repo.dir, '--runner', 'scripted', '--script', 'script.yaml'];
  });

  afterEach(async () => {
    await repo.cleanup();
    await rm(work, { recursive: true, force: true });
  });

  async function run(id: string): Promise<CliResult> {
    const file = join(work, `${id}.yaml`);
    await writeFile(file, task(id));
    return tandem(work, 'run', file, ...runArgs);
  }

  async function status(id: string): Promise<TaskStatus> {
    const [record] = StatusReportSchema.parse(JSON.parse((await tandem(work, 'status', id, '--json')).stdout)).tasks;
    if (!record) throw new Error(`no status for ${id}`);
    return record;
  }

  /** `provider/model` of each call a role started, from the run's JSON log. */
  async function calledModels(role: string): Promise<string[]> {
    const log = (await readFile(join(work, '.tandem', 'logs', 'tandem.jsonl'), 'utf8')).trim().split('\n');
    return log
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line['msg'] === `${role} started`)
      .map((line) => `${String(line['provider'])}/${String(line['model'])}`);
  }

  it('a passing validation ends the task DONE; the checklist is in `status` and the call goes to another provider', async () => {
    const result = await run('V1');
    expect(result.code, result.stderr).toBe(0);
    const record = await status('V1');
    expect(record.state).toBe('DONE');
    expect(record.validation).toMatchObject({ pass: true, issues: [], confidence: 0.95, escalate: false, call: 1 });
    // planner, plan-reviewer, implementer, code-reviewer and the validator.
    expect(record.model_calls).toBe(5);
    const [implementer] = await calledModels('implementer');
    const validators = await calledModels('validator');
    expect(validators).toHaveLength(1);
    // Diversity: the validator is on another provider than the implementer whose work it judges.
    expect(validators[0]?.split('/')[0]).not.toBe(implementer?.split('/')[0]);
    expect(record.validation?.model).toBe(validators[0]);
    const text = await tandem(work, 'status', 'V1');
    expect(text.stdout).toContain(`Validation of V1:\nVerdict: pass, confidence 0.95 (${validators[0] ?? ''}, validation 1)\n- no issue found`);
    expect(await repo.git('rev-list', '--count', 'main..tandem/V1')).toBe('1');
  });

  it('a failed validation goes back to the implementer as a fix-up of the last step, then passes', async () => {
    const result = await run('V2');
    expect(result.code, result.stderr).toBe(0);
    const record = await status('V2');
    expect(record.state).toBe('DONE');
    expect(record.validation).toMatchObject({ pass: true, call: 2 });
    // The fix-up is attempt 2 of S1: its own commit after the first one; the branch holds the fix.
    expect(await repo.git('log', '--format=%(trailers:key=Tandem-Attempt,valueonly,separator=)', 'main..tandem/V2')).toBe('2\n1');
    expect(await repo.git('show', 'tandem/V2:greeting.txt')).toBe('hello!');
    expect(record.commits.map((c) => c.stepId)).toEqual(['S1', 'S1']);
    // 4 calls, then validator, implementer, code-reviewer and validator again.
    expect(record.model_calls).toBe(8);
    expect(await calledModels('validator')).toHaveLength(2);
  });

  it('a validator that escalates makes the task wait for a person at stage validate; --approve finishes it as it is', async () => {
    const result = await run('V3');
    expect(result.code, result.stderr).toBe(3);
    // A validation has no step to skip.
    expect(result.stdout).toContain('tandem review V3 --approve | --feedback "…" | --abort\n');
    const waiting = await status('V3');
    expect(waiting.state).toBe('AWAITING_HUMAN_REVIEW');
    expect(waiting.waiting).toEqual({
      stage: 'validate',
      kind: 'validation',
      reason: 'the validator asks for a person (pass at confidence 0.9): the goal does not say which greeting',
    });
    expect(waiting.validation).toMatchObject({ pass: true, escalate: true, issues: ['the goal does not say which greeting'] });
    const skip = await tandem(work, 'review', 'V3', '--skip-step');
    expect(skip.code).toBe(2);

    const approve = await tandem(work, 'review', 'V3', '--approve');
    expect(approve.code, approve.stderr).toBe(0);
    const done = await status('V3');
    expect(done.state).toBe('DONE');
    expect(done.commits.map((c) => c.stepId)).toEqual(['S1']);
    expect(await repo.git('show', 'tandem/V3:greeting.txt')).toBe('hello');
    // Approving made no model call: the branch stands as the validator saw it.
    expect(done.model_calls).toBe(5);
  });

  it('a verdict below the confidence threshold waits for a person; their feedback is a fix-up that is validated again', async () => {
    const result = await run('V4');
    expect(result.code, result.stderr).toBe(3);
    const waiting = await status('V4');
    expect(waiting.waiting).toEqual({
      stage: 'validate',
      kind: 'validation',
      reason: 'the validator is not sure enough (fail at confidence 0.3, below 0.5): maybe it should shout',
    });
    const feedback = await tandem(work, 'review', 'V4', '--feedback', 'Add an exclamation mark');
    expect(feedback.code, feedback.stderr).toBe(0);
    const done = await status('V4');
    expect(done.state).toBe('DONE');
    expect(done.validation).toMatchObject({ pass: true, call: 2 });
    expect(await repo.git('show', 'tandem/V4:greeting.txt')).toBe('hello!');
  });
});
