import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StatusReportSchema } from '../../src/model/task-status.js';
import { createGitRepo, type GitRepo } from '../helpers/git-repo.js';
import { tandem, type CliResult } from '../helpers/run-cli.js';

/**
 * `tandem run`, `status` and `review` in-process through runCli with a fake CliIO: bad input exits
 * with 2, one message per problem naming file, line and field, and leaves no trace; good input runs
 * with the scripted runner against a real repository and a real gate command.
 */

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The lines that name one problem each, below the "nothing was started" header. */
function issueLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith('  '));
}

const SCRIPT = `defaults:
  plan-reviewer: [ { respond: { status: approved } } ]
  code-reviewer: [ { respond: { status: approved } } ]
tasks:
  T1:
    planner:
      - respond: { task_id: T1, steps: [ { id: S1, type: implementation, description: Write the greeting } ] }
    steps:
      S1:
        implementer:
          - edits: [ { path: greeting.txt, content: "hello from T1\\n" } ]
            respond: { explanation: wrote the greeting, confidence: 0.9 }
  T2:
    planner:
      - respond: { task_id: T2, steps: [ { id: S1, type: implementation, description: Write the greeting } ] }
    plan-reviewer:
      - respond: { status: rejected, review: { concerns: [ The plan has no test step ] } }
      - respond: { status: approved }
    steps:
      S1:
        implementer:
          - edits: [ { path: greeting.txt, content: "hello from T2\\n" } ]
            respond: { explanation: wrote the greeting, confidence: 0.9 }
  T3:
    planner:
      - respond:
          task_id: T3
          steps:
            - { id: S1, type: implementation, description: Write the greeting }
            - { id: S2, type: implementation, description: Write the farewell }
    steps:
      S1:
        implementer:
          - edits: [ { path: greeting.txt, content: "hello from T3\\n" } ]
            respond: { explanation: wrote the greeting, confidence: 0.9 }
        code-reviewer:
          - respond: { status: rejected, review: { issues: [ { severity: high, description: The greeting is rude } ] } }
      S2:
        implementer:
          - edits: [ { path: farewell.txt, content: "hello and goodbye\\n" } ]
            respond: { explanation: wrote the farewell, confidence: 0.9 }
  T6:
    planner:
      - respond: { task_id: T6, steps: [ { id: S1, type: implementation, description: Write the greeting, files_to_modify: [greeting.txt] } ] }
    steps:
      S1:
        implementer:
          - respond: { explanation: nothing to do, confidence: 0.9 }
          - edits: [ { path: notes.txt, content: "hello, not the greeting\\n" } ]
            respond: { explanation: wrote a note, confidence: 0.9 }
          - edits: [ { path: greeting.txt, content: "hello from T6\\n" } ]
            respond: { explanation: wrote the greeting, confidence: 0.9 }
  T7:
    planner:
      - respond: { task_id: T7, steps: [ { id: S1, type: implementation, description: Write the greeting } ] }
    steps:
      S1:
        implementer:
          - respond: { explanation: it already looks fine, confidence: 0.9 }
  T8:
    planner:
      - respond: { task_id: T8, steps: [ { id: S1, type: implementation, description: Review the readme } ] }
    steps:
      S1:
        implementer:
          - respond: { summary: "" }
          - respond:
              summary: The readme is one heading
              findings: [ { description: The readme says nothing about usage, file: README.md, line: 1, severity: medium } ]
              recommendations: [ Add a usage section ]
`;

/** The gate runs a real command in the worktree: the greeting must be there. */
const CONFIG = `gate:
  checks:
    - name: greeting
      command: grep -q hello greeting.txt
      timeout_ms: 30000
`;

const TASK_T1 = `tasks:
  - id: T1
    goal: Write a greeting
    risk: low
    area: general
`;

describe('tandem run / status / review (in-process CLI)', () => {
  let work: string;
  let repo: GitRepo;
  let runArgs: string[];

  beforeEach(async () => {
    work = await realpath(await mkdtemp(join(tmpdir(), 'tandem-cli-')));
    repo = await createGitRepo({ 'README.md': '# project\n' });
    await writeFile(join(work, 'script.yaml'), SCRIPT);
    await writeFile(join(work, 'tandem.config.yaml'), CONFIG);
    runArgs = ['--repo', repo.dir, '--runner', 'scripted', '--script', 'script.yaml'];
  });

  afterEach(async () => {
    await repo.cleanup();
    await rm(work, { recursive: true, force: true });
  });

  async function file(name: string, text: string): Promise<string> {
    const path = join(work, name);
    await writeFile(path, text);
    return path;
  }

  /** Bad input: exit code 2, exactly one problem line matching `issue`, nothing started or written. */
  async function expectRejected(result: CliResult, issue: RegExp, options: { porcelain?: string } = {}): Promise<void> {
    expect(result.code, result.stderr).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n')[0]).toBe('tandem: a problem in the input; nothing was started:');
    expect(issueLines(result.stderr)).toHaveLength(1);
    expect(issueLines(result.stderr)[0]).toMatch(issue);
    await expectNothingWritten(options.porcelain ?? '');
  }

  async function expectNothingWritten(porcelain: string): Promise<void> {
    expect(existsSync(join(work, '.tandem'))).toBe(false);
    expect(await repo.git('branch', '--format=%(refname:short)')).toBe('main');
    expect(await repo.git('worktree', 'list', '--porcelain')).not.toContain('tandem/');
    expect(await repo.git('rev-parse', 'main')).toBe(repo.head);
    expect(await repo.git('status', '--porcelain')).toBe(porcelain);
  }

  describe('bad input exits with 2, names file, line and field, and writes nothing', () => {
    it('malformed YAML', async () => {
      const tasks = await file('tasks.yaml', 'tasks:\n  - id: T1\n    goal: g\n    risk: low: high\n');
      await expectRejected(await tandem(work, 'run', tasks, ...runArgs), new RegExp(`^  ${escape(tasks)}:4:11: invalid YAML: Nested mappings are not allowed`));
    });

    it('an unknown field', async () => {
      const tasks = await file('tasks.yaml', 'tasks:\n  - id: T1\n    goal: g\n    colour: red\n');
      await expectRejected(
        await tandem(work, 'run', tasks, ...runArgs),
        new RegExp(`^  ${escape(tasks)}:4:5: tasks\\[0\\]\\.colour: unknown field \`colour\``),
      );
    });

    it('a missing field', async () => {
      const tasks = await file('tasks.yaml', 'tasks:\n  - id: T1\n    risk: low\n');
      await expectRejected(
        await tandem(work, 'run', tasks, ...runArgs),
        new RegExp(`^  ${escape(tasks)}:2:5: tasks\\[0\\]\\.goal: missing required field \`goal\`$`),
      );
    });

    it('a wrong-typed field', async () => {
      const tasks = await file('tasks.yaml', 'tasks:\n  - id: T1\n    goal: g\n    constraints: 5\n');
      await expectRejected(
        await tandem(work, 'run', tasks, ...runArgs),
        new RegExp(`^  ${escape(tasks)}:4:18: tasks\\[0\\]\\.constraints: must be a list, got a number \\(5\\)$`),
      );
    });

    it('an unknown risk', async () => {
      const tasks = await file('tasks.yaml', 'tasks:\n  - id: T1\n    goal: g\n    risk: extreme\n');
      await expectRejected(
        await tandem(work, 'run', tasks, ...runArgs),
        new RegExp(`^  ${escape(tasks)}:4:11: tasks\\[0\\]\\.risk: unknown risk \`extreme\` \\(allowed: high, medium, low\\)$`),
      );
    });

    it('an unknown area', async () => {
      const tasks = await file('tasks.yaml', 'tasks:\n  - id: T1\n    goal: g\n    area: frontend\n');
      await expectRejected(
        await tandem(work, 'run', tasks, ...runArgs),
        new RegExp(`^  ${escape(tasks)}:4:11: tasks\\[0\\]\\.area: unknown area \`frontend\``),
      );
    });

    it('a duplicate task id in one file', async () => {
      const tasks = await file('tasks.yaml', 'tasks:\n  - id: T1\n    goal: g\n  - id: T1\n    goal: h\n');
      await expectRejected(
        await tandem(work, 'run', tasks, ...runArgs),
        new RegExp(`^  ${escape(tasks)}:4:9: tasks\\[1\\]\\.id: duplicate task id \`T1\` \\(first defined at line 2\\)$`),
      );
    });

    it('a duplicate task id across two files', async () => {
      const first = await file('first.yaml', 'tasks:\n  - id: T1\n    goal: g\n');
      const second = await file('second.yaml', '# the same id again\ntasks:\n  - id: T1\n    goal: h\n');
      await expectRejected(
        await tandem(work, 'run', first, second, ...runArgs),
        new RegExp(`^  ${escape(second)}:3: tasks\\[0\\]\\.id: duplicate task id \`T1\` \\(also defined in ${escape(first)}:2\\)$`),
      );
    });

    it('a repository path that does not exist', async () => {
      const tasks = await file('tasks.yaml', TASK_T1);
      const missing = join(work, 'no-such-repo');
      await expectRejected(
        await tandem(work, 'run', tasks, '--repo', missing, '--runner', 'scripted', '--script', 'script.yaml'),
        new RegExp(`^  ${escape(tasks)}:2: repo: --repo ${escape(missing)} does not exist$`),
      );
    });

    it('a repository path that is not a git repository', async () => {
      const plain = join(work, 'plain');
      await mkdir(plain);
      const tasks = await file('tasks.yaml', 'tasks:\n  - id: T1\n    goal: g\n    repo: plain\n');
      await expectRejected(
        await tandem(work, 'run', tasks, '--runner', 'scripted', '--script', 'script.yaml'),
        new RegExp(`^  ${escape(tasks)}:4: repo: repository ${escape(plain)} is not a git repository`),
      );
      expect(existsSync(join(plain, '.git'))).toBe(false);
    });

    it('a dirty base branch', async () => {
      await writeFile(join(repo.dir, 'README.md'), '# edited, not committed\n');
      const tasks = await file('tasks.yaml', TASK_T1);
      await expectRejected(
        await tandem(work, 'run', tasks, ...runArgs),
        new RegExp(
          `^  ${escape(tasks)}:2: base: base branch \`main\` is checked out in ${escape(repo.dir)} with uncommitted changes \\(README\\.md\\); commit or stash them first$`,
        ),
        { porcelain: 'M README.md' },
      );
    });

    it('context_files pointing outside the repository', async () => {
      const tasks = await file('tasks.yaml', 'tasks:\n  - id: T1\n    goal: g\n    context_files: [README.md, ../../etc/passwd]\n');
      await expectRejected(
        await tandem(work, 'run', tasks, ...runArgs),
        new RegExp(
          `^  ${escape(tasks)}:4: context_files\\[1\\]: \`\\.\\./\\.\\./etc/passwd\` resolves to /etc/passwd, outside the repository ${escape(repo.dir)}$`,
        ),
      );
    });

    it('a script file that does not exist', async () => {
      const tasks = await file('tasks.yaml', TASK_T1);
      const missing = join(work, 'missing-script.yaml');
      await expectRejected(
        await tandem(work, 'run', tasks, '--repo', repo.dir, '--runner', 'scripted', '--script', missing),
        new RegExp(`^  ${escape(missing)}: cannot read the script: ENOENT`),
      );
    });

    it('a script path that cannot be read as a file', async () => {
      const tasks = await file('tasks.yaml', TASK_T1);
      const folder = join(work, 'a-folder');
      await mkdir(folder);
      await expectRejected(
        await tandem(work, 'run', tasks, '--repo', repo.dir, '--runner', 'scripted', '--script', folder),
        new RegExp(`^  ${escape(folder)}: cannot read the script: EISDIR`),
      );
    });

    it('a script with a schema error', async () => {
      const tasks = await file('tasks.yaml', TASK_T1);
      const script = await file('bad-script.yaml', 'tasks:\n  T1:\n    plannr:\n      - respond: {}\n');
      await expectRejected(
        await tandem(work, 'run', tasks, '--repo', repo.dir, '--runner', 'scripted', '--script', script),
        new RegExp(`^  ${escape(script)}:3:5: tasks\\.T1\\.plannr: is not a known field$`),
      );
    });

    it('a config file with an unknown key, reported at its line', async () => {
      const tasks = await file('tasks.yaml', TASK_T1);
      const config = await file('bad.config.yaml', 'concurrency: 2\nlog_level: warn\ncolour: red\n');
      await expectRejected(await tandem(work, 'run', tasks, ...runArgs, '--config', config), new RegExp(`^  ${escape(config)}:3:1: colour: unknown field`));
    });

    it('a config file that breaks the diversity rule (same model for implementer and code-reviewer)', async () => {
      const tasks = await file('tasks.yaml', TASK_T1);
      const config = await file(
        'same-model.config.yaml',
        [
          'roles:',
          '  planner: { provider: anthropic, model: planner-model, runner: scripted }',
          '  plan-reviewer: { provider: google, model: plan-review-model, runner: scripted }',
          '  implementer: { provider: openai, model: same-model, runner: scripted }',
          '  code-reviewer: { provider: openai, model: same-model, runner: scripted }',
          '',
        ].join('\n'),
      );
      await expectRejected(
        await tandem(work, 'run', tasks, ...runArgs, '--config', config),
        new RegExp(
          `^  ${escape(config)}:5:\\d+: roles\\.code-reviewer\\.model: the code-reviewer must use a different model than the implementer \\(both are same-model\\)$`,
        ),
      );
    });

    it('--concurrency 0', async () => {
      const tasks = await file('tasks.yaml', TASK_T1);
      const result = await tandem(work, 'run', tasks, ...runArgs, '--concurrency', '0');
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain("option '--concurrency <n>' argument '0' is invalid. must be a whole number of at least 1");
      await expectNothingWritten('');
    });
  });

  it('runs a good task file to DONE (exit 0), lists it in `status --json`, and refuses to run the same ids again (exit 2)', async () => {
    const tasks = await file('tasks.yaml', TASK_T1);
    const run = await tandem(work, 'run', tasks, ...runArgs);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('SCRIPTED');
    expect(run.stdout).toMatch(/^T1 +DONE +1\/1 /m);

    const status = await tandem(work, 'status', '--json');
    expect(status.code).toBe(0);
    const records = StatusReportSchema.parse(JSON.parse(status.stdout)).tasks;
    expect(records.map((r) => [r.id, r.state, r.branch, r.commits.map((c) => c.stepId)])).toEqual([['T1', 'DONE', 'tandem/T1', ['S1']]]);
    // One source of numbers: 5 calls (planner, plan-reviewer, implementer, code-reviewer, validator), the step passed on attempt 1.
    expect(records.map((r) => [r.model_calls, r.attempt, r.plan_rounds, r.step_attempts, r.waiting_ms])).toEqual([[5, 1, 1, { S1: 1 }, 0]]);
    expect(await repo.git('show', 'tandem/T1:greeting.txt')).toBe('hello from T1');
    expect(await repo.git('rev-parse', 'main')).toBe(repo.head);

    // The run's JSON log: task, step, role and model on every line (null where a line has none).
    const log = (await readFile(join(work, '.tandem', 'logs', 'tandem.jsonl'), 'utf8')).trim().split('\n');
    const lines = log.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThan(10);
    for (const line of lines) expect(Object.keys(line), JSON.stringify(line)).toEqual(expect.arrayContaining(['task', 'step', 'role', 'model']));
    const calls = lines.filter((line) => /^(planner|plan-reviewer|implementer|code-reviewer) (started|answered)$/.test(String(line['msg'])));
    expect(calls.length).toBeGreaterThanOrEqual(8);
    for (const call of calls) {
      expect(call['task']).toBe('T1');
      expect(call['role']).toEqual(expect.any(String));
      expect(call['model']).toEqual(expect.any(String));
    }

    const again = await tandem(work, 'run', tasks, ...runArgs);
    expect(again.code).toBe(2);
    expect(issueLines(again.stderr)).toHaveLength(1);
    expect(issueLines(again.stderr)[0]).toMatch(
      new RegExp(`^  ${escape(tasks)}:2: id: task T1 already exists in ${escape(join(work, '.tandem'))} \\(state DONE\\)`),
    );
    expect(await repo.git('rev-list', '--count', 'main..tandem/T1')).toBe('1');
  });

  it('exits 3 for a task waiting for a person; `review` lists it, refuses bad decisions, and `--feedback` finishes it', async () => {
    const tasks = await file('tasks.yaml', 'tasks:\n  - id: T2\n    goal: Write a greeting\n');
    const run = await tandem(work, 'run', tasks, ...runArgs);
    expect(run.code, run.stderr).toBe(3);
    expect(run.stdout).toContain('T2 waits for a person. Decide with:');
    // A plan is not made of steps yet: the hint offers no --skip-step.
    expect(run.stdout).toContain('tandem review T2 --approve | --feedback "…" | --abort\n');

    const list = await tandem(work, 'review');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^T2 +AWAITING_HUMAN_REVIEW /m);
    expect(list.stdout).toContain('T2 waits for a person (plan, plan_rejected): the plan reviewer rejected the plan');

    const skip = await tandem(work, 'review', 'T2', '--skip-step');
    expect(skip.code).toBe(2);
    expect(issueLines(skip.stderr)).toEqual(['  review: decision: task T2 waits on its plan; there is no step to skip (use --approve, --feedback or --abort)']);

    const two = await tandem(work, 'review', 'T2', '--approve', '--abort');
    expect(two.code).toBe(2);
    expect(issueLines(two.stderr)).toEqual(['  command line: choose one decision: --approve, --feedback, --skip-step or --abort']);

    const waiting = StatusReportSchema.parse(JSON.parse((await tandem(work, 'status', '--json')).stdout)).tasks;
    expect(waiting.map((r) => [r.id, r.state])).toEqual([['T2', 'AWAITING_HUMAN_REVIEW']]);
    // While it waits, its active time stands still and the waiting time grows.
    await new Promise((r) => setTimeout(r, 300));
    const later = StatusReportSchema.parse(JSON.parse((await tandem(work, 'status', '--json')).stdout)).tasks;
    expect(later[0]?.active_ms).toBe(waiting[0]?.active_ms);
    expect((later[0]?.waiting_ms ?? 0) - (waiting[0]?.waiting_ms ?? 0)).toBeGreaterThanOrEqual(300);
    expect(later[0]?.model_calls).toBe(2);

    const feedback = await tandem(work, 'review', 'T2', '--feedback', 'Add a test step before writing the greeting');
    expect(feedback.code, feedback.stderr).toBe(0);
    // The summary counts every call of the task, the ones before the decision too (2 + 5).
    expect(feedback.stdout).toMatch(/^T2 +DONE +1\/1 +7 /m);
    const done = StatusReportSchema.parse(JSON.parse((await tandem(work, 'status', '--json')).stdout)).tasks;
    expect(done.map((r) => [r.id, r.state, r.commits.length])).toEqual([['T2', 'DONE', 1]]);
    expect(await repo.git('show', 'tandem/T2:greeting.txt')).toBe('hello from T2');
  });

  it('a step waiting for a person: `review --skip-step` drops it, `--approve` takes it as it is, `--abort` stops the task', async () => {
    const tasks = await file('tasks.yaml', 'tasks:\n  - id: T3\n    goal: Greet and say goodbye\n');
    const gate = `gate:\n  checks:\n    - { name: files, command: "true", timeout_ms: 30000 }\n`;
    await writeFile(join(work, 'tandem.config.yaml'), gate);
    const run = await tandem(work, 'run', tasks, ...runArgs);
    expect(run.code, run.stderr).toBe(3);
    expect(run.stdout).toContain('tandem review T3 --approve | --feedback "…" | --skip-step | --abort\n');
    const waiting = StatusReportSchema.parse(JSON.parse((await tandem(work, 'status', 'T3', '--json')).stdout)).tasks;
    expect(waiting[0]?.waiting).toMatchObject({ stage: 'step' });

    const skip = await tandem(work, 'review', 'T3', '--skip-step');
    expect(skip.code, skip.stderr).toBe(0);
    const done = StatusReportSchema.parse(JSON.parse((await tandem(work, 'status', '--json')).stdout)).tasks;
    expect(done.map((r) => [r.id, r.state, r.commits.map((c) => c.stepId)])).toEqual([['T3', 'DONE', ['S2']]]);
    expect(await repo.git('show', 'tandem/T3:farewell.txt')).toBe('hello and goodbye');
    // The skipped step's changes were discarded, not committed with the next one.
    await expect(repo.git('show', 'tandem/T3:greeting.txt')).rejects.toThrow();

    // Same task again under another id: this time the person accepts the rejected step as it is.
    await writeFile(join(work, 'script.yaml'), SCRIPT.replaceAll('T3', 'T4'));
    const approveRun = await tandem(work, 'run', await file('t4.yaml', 'tasks:\n  - id: T4\n    goal: Greet and say goodbye\n'), ...runArgs);
    expect(approveRun.code, approveRun.stderr).toBe(3);
    const approve = await tandem(work, 'review', 'T4', '--approve');
    expect(approve.code, approve.stderr).toBe(0);
    expect(await repo.git('show', 'tandem/T4:greeting.txt')).toBe('hello from T4');
    expect(await repo.git('log', '--format=%(trailers:key=Tandem-Step,valueonly,separator=)', 'main..tandem/T4')).toBe('S2\nS1');

    await writeFile(join(work, 'script.yaml'), SCRIPT.replaceAll('T3', 'T5'));
    const abortRun = await tandem(work, 'run', await file('t5.yaml', 'tasks:\n  - id: T5\n    goal: Greet and say goodbye\n'), ...runArgs);
    expect(abortRun.code, abortRun.stderr).toBe(3);
    const abort = await tandem(work, 'review', 'T5', '--abort');
    expect(abort.code).toBe(1);
    const all = StatusReportSchema.parse(JSON.parse((await tandem(work, 'status', '--json')).stdout)).tasks;
    expect(all.map((r) => [r.id, r.state])).toEqual([
      ['T3', 'DONE'],
      ['T4', 'DONE'],
      ['T5', 'ABORTED'],
    ]);
    const again = await tandem(work, 'review', 'T5', '--approve');
    expect(again.code).toBe(2);
    expect(issueLines(again.stderr).join('\n')).toMatch(/T5/);
  });

  describe('a code step must change its planned files', () => {
    it('an empty diff and a diff beside the planned files go back to the implementer as attempts; no empty commit', async () => {
      const tasks = await file('tasks.yaml', 'tasks:\n  - id: T6\n    goal: Write a greeting\n');
      const run = await tandem(work, 'run', tasks, ...runArgs);
      expect(run.code, run.stderr).toBe(0);
      const [record] = StatusReportSchema.parse(JSON.parse((await tandem(work, 'status', 'T6', '--json')).stdout)).tasks;
      expect(record).toMatchObject({ state: 'DONE', commits: [{ stepId: 'S1' }] });
      expect(await repo.git('show', 'tandem/T6:greeting.txt')).toBe('hello from T6');
      expect(await repo.git('log', '--format=%(trailers:key=Tandem-Attempt,valueonly,separator=)', 'main..tandem/T6')).toBe('3');
      // Attempts 1 (no change) and 2 (notes.txt, not the planned greeting.txt) went back to the implementer.
      await expect(repo.git('show', 'tandem/T6:notes.txt')).rejects.toThrow();
    });

    it('an implementer that never changes anything waits for a person after its attempts, with the reason', async () => {
      const tasks = await file('tasks.yaml', 'tasks:\n  - id: T7\n    goal: Write a greeting\n');
      const run = await tandem(work, 'run', tasks, ...runArgs);
      expect(run.code, run.stderr).toBe(3);
      const [record] = StatusReportSchema.parse(JSON.parse((await tandem(work, 'status', 'T7', '--json')).stdout)).tasks;
      expect(record?.state).toBe('AWAITING_HUMAN_REVIEW');
      expect(record?.commits).toEqual([]);
      expect(record?.waiting?.reason).toBe('the implementer failed 3 times; last: no_progress: no changes were made');
      expect(await repo.git('rev-list', '--count', 'main..tandem/T7')).toBe('0');
    });
  });

  it('an analysis task answers with validated findings: no code review, no gate, no commit; `status TASK` shows them', async () => {
    const tasks = await file('tasks.yaml', 'tasks:\n  - id: T8\n    goal: Review the readme\n    type: analyze\n');
    const run = await tandem(work, 'run', tasks, ...runArgs);
    expect(run.code, run.stderr).toBe(0);
    const [record] = StatusReportSchema.parse(JSON.parse((await tandem(work, 'status', 'T8', '--json')).stdout)).tasks;
    expect(record?.state).toBe('DONE');
    expect(record?.commits).toEqual([]);
    expect(record?.findings).toEqual([
      {
        stepId: 'S1',
        report: {
          summary: 'The readme is one heading',
          findings: [{ description: 'The readme says nothing about usage', file: 'README.md', line: 1, severity: 'medium' }],
          recommendations: ['Add a usage section'],
        },
      },
    ]);
    const status = await tandem(work, 'status', 'T8');
    expect(status.stdout).toContain('Findings of T8:');
    expect(status.stdout).toContain('- [medium] README.md:1: The readme says nothing about usage');
    expect(status.stdout).toContain('- Add a usage section');
    expect(await repo.git('rev-list', '--count', 'main..tandem/T8')).toBe('0');
  });

  describe('--task ID', () => {
    const twoTasks = 'tasks:\n  - id: T1\n    goal: Write a greeting\n  - id: T6\n    goal: Write a greeting\n';

    it('runs only the tasks asked for (repeatable)', async () => {
      const tasks = await file('tasks.yaml', twoTasks);
      const run = await tandem(work, 'run', tasks, ...runArgs, '--task', 'T1');
      expect(run.code, run.stderr).toBe(0);
      const records = StatusReportSchema.parse(JSON.parse((await tandem(work, 'status', '--json')).stdout)).tasks;
      expect(records.map((r) => [r.id, r.state])).toEqual([['T1', 'DONE']]);
    });

    it('an unknown id exits 2, naming the file and the nearest id, and starts nothing', async () => {
      const tasks = await file('tasks.yaml', twoTasks);
      await expectRejected(
        await tandem(work, 'run', tasks, ...runArgs, '--task', 'T1', '--task', 'T9'),
        new RegExp(`^  ${escape(tasks)}:1: --task: no task \`T9\` in ${escape(tasks)} \\(did you mean \`T1\`\\?\\); known ids: T1, T6$`),
      );
    });
  });
});
