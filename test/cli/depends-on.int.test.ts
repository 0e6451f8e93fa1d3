import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGitRepo, type GitRepo } from '../helpers/git-repo.js';
import { tandem } from '../helpers/run-cli.js';

/**
 * `depends_on` through `tandem run` with the scripted runner and a real repository: a task starts
 * once its dependencies are DONE, from their work; one whose dependency cannot finish stays NEW with
 * the reason (exit 3); cycles, unknown ids and unselected dependencies are bad input (exit 2).
 */

const step = (task: string, file: string, content: string): string => `  ${task}:
    planner:
      - respond: { task_id: ${task}, steps: [ { id: S1, type: implementation, description: Write ${file} } ] }
    steps:
      S1:
        implementer:
          - edits: [ { path: ${file}, content: "${content}\\n" } ]
            respond: { explanation: wrote ${file}, confidence: 0.9 }
`;

const SCRIPT = `defaults:
  plan-reviewer: [ { respond: { status: approved } } ]
  code-reviewer: [ { respond: { status: approved } } ]
tasks:
${step('A', 'a.txt', 'from A')}${step('B', 'b.txt', 'from B')}${step('C', 'c.txt', 'from C')}  R:
    planner:
      - respond: { task_id: R, steps: [ { id: S1, type: implementation, description: Write r.txt } ] }
    steps:
      S1:
        implementer:
          - edits: [ { path: r.txt, content: "from R\\n" } ]
            respond: { explanation: wrote r.txt, confidence: 0.9 }
        code-reviewer:
          - respond: { status: rejected, review: { issues: [ { severity: high, description: Not wanted } ] } }
`;

const OVERLAP = (task: string): string => `  ${task}:
    planner:
      - respond: { task_id: ${task}, steps: [ { id: S1, type: implementation, description: Edit the shared file, files_to_modify: [ shared.txt, ./notes.txt ] } ] }
    steps:
      S1:
        implementer:
          - delay_ms: 1500
            edits: [ { path: shared.txt, content: "from ${task}\\n" } ]
            respond: { explanation: edited, confidence: 0.9 }
`;

describe('depends_on (tandem run)', () => {
  let work: string;
  let repo: GitRepo;
  let args: string[];

  beforeEach(async () => {
    work = await realpath(await mkdtemp(join(tmpdir(), 'tandem-deps-')));
    repo = await createGitRepo({ 'README.md': '# project\n' });
    await writeFile(join(work, 'script.yaml'), SCRIPT);
    await writeFile(
      join(work, 'tandem.config.yaml'),
      'concurrency: 3\ngate:\n  checks:\n    - { name: files, command: "test -s README.md", timeout_ms: 30000 }\n',
    );
    args = ['--repo', repo.dir, '--runner', 'scripted', '--script', 'script.yaml'];
  });

  afterEach(async () => {
    await repo.cleanup();
    await rm(work, { recursive: true, force: true });
  });

  const tasks = async (text: string): Promise<string> => {
    await writeFile(join(work, 'tasks.yaml'), text);
    return 'tasks.yaml';
  };

  it('starts a task once its dependency is DONE, on its dependency’s work, even listed first and with free slots', async () => {
    const file = await tasks('tasks:\n  - id: B\n    goal: Write b\n    depends_on: [A]\n  - id: A\n    goal: Write a\n  - id: C\n    goal: Write c\n');
    const result = await tandem(work, 'run', file, ...args);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const lines = result.stdout.split('\n');
    const aDone = lines.findIndex((l) => /^ *\S+ +A +DONE/.test(l));
    const bStarts = lines.findIndex((l) => /^ *\S+ +B +PLANNING/.test(l));
    const cStarts = lines.findIndex((l) => /^ *\S+ +C +PLANNING/.test(l));
    expect(aDone, result.stdout).toBeGreaterThan(0);
    expect(bStarts).toBeGreaterThan(aDone);
    // C has no dependency: it does not wait for A.
    expect(cStarts).toBeLessThan(aDone);
    // B's branch holds A's commit and its own, so B's change is measured against A's work.
    expect(await repo.git('merge-base', '--is-ancestor', 'tandem/A', 'tandem/B').then(() => true)).toBe(true);
    expect((await repo.git('show', 'tandem/B:a.txt')).trim()).toBe('from A');
    expect(await repo.git('log', '--format=%s', 'tandem/A..tandem/B')).not.toBe('');
  }, 120_000);

  it('leaves a task NEW with the reason when its dependency waits for a person, and its dependents behind it; exit 3', async () => {
    const file = await tasks(
      'tasks:\n  - id: R\n    goal: Write r\n  - id: B\n    goal: Write b\n    depends_on: [R]\n  - id: C\n    goal: Write c\n    depends_on: [B]\n',
    );
    const result = await tandem(work, 'run', file, ...args);
    expect(result.code, result.stdout + result.stderr).toBe(3);
    expect(result.stdout).toMatch(/^R +AWAITING_HUMAN_REVIEW /m);
    expect(result.stdout).toMatch(/^B +NEW /m);
    expect(result.stdout).toMatch(/^C +NEW /m);
    expect(result.stdout).toContain('B did not start: it waits for its dependencies: R waits for a person. `tandem resume` starts it once they are DONE.');
    expect(result.stdout).toContain('C did not start: it waits for its dependencies: B waits too (waits for its dependencies: R waits for a person).');
    expect(await repo.git('branch', '--list', 'tandem/B', 'tandem/C')).toBe('');
  }, 120_000);

  it('refuses a cycle, naming the file and line (exit 2)', async () => {
    const file = await tasks('tasks:\n  - id: A\n    goal: Write a\n    depends_on: [B]\n  - id: B\n    goal: Write b\n    depends_on:\n      - A\n');
    const result = await tandem(work, 'run', file, ...args);
    expect(result.code, result.stderr).toBe(2);
    const problems = result.stderr.split('\n').filter((l) => l.startsWith('  '));
    expect(problems).toEqual([`  ${join(work, 'tasks.yaml')}:4: depends_on[0]: depends_on makes a cycle: A → B → A; no task of it could ever start`]);
    expect(await repo.git('branch', '--format=%(refname:short)')).toBe('main');
  }, 60_000);

  it('refuses an unknown id, and a dependency left out by --task (exit 2)', async () => {
    const file = await tasks('tasks:\n  - id: A\n    goal: Write a\n  - id: B\n    goal: Write b\n    depends_on: [AA]\n');
    const unknown = await tandem(work, 'run', file, ...args);
    expect(unknown.code, unknown.stderr).toBe(2);
    expect(unknown.stderr).toContain('depends on `AA`, which is neither in this run nor in the state dir (did you mean `A`?)');

    await tasks('tasks:\n  - id: A\n    goal: Write a\n  - id: B\n    goal: Write b\n    depends_on: [A]\n');
    const unselected = await tandem(work, 'run', file, '--task', 'B', ...args);
    expect(unselected.code, unselected.stderr).toBe(2);
    expect(unselected.stderr).toContain(
      'task B depends on `A`, which is neither in this run nor in the state dir (it is in the task files, but not selected: add `--task A`)',
    );
    expect(await repo.git('branch', '--format=%(refname:short)')).toBe('main');
  }, 60_000);

  it('warns when two tasks running at once on one repository plan to change the same files', async () => {
    await writeFile(
      join(work, 'script.yaml'),
      `defaults:\n  plan-reviewer: [ { respond: { status: approved } } ]\n  code-reviewer: [ { respond: { status: approved } } ]\ntasks:\n${OVERLAP('P')}${OVERLAP('Q')}`,
    );
    const file = await tasks('tasks:\n  - id: P\n    goal: Edit shared\n  - id: Q\n    goal: Edit shared too\n');
    const result = await tandem(work, 'run', file, ...args);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const warnings = result.stderr.split('\n').filter((l) => l.includes('run at once'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/tasks (P and Q|Q and P) run at once on \S+ and both plan to change notes.txt, shared.txt: their branches may conflict/);
  }, 120_000);

  it('does not warn for tasks on the same files that run one after the other', async () => {
    await writeFile(
      join(work, 'script.yaml'),
      `defaults:\n  plan-reviewer: [ { respond: { status: approved } } ]\n  code-reviewer: [ { respond: { status: approved } } ]\ntasks:\n${OVERLAP('P')}${OVERLAP('Q')}`,
    );
    const file = await tasks('tasks:\n  - id: P\n    goal: Edit shared\n  - id: Q\n    goal: Edit shared too\n    depends_on: [P]\n');
    const result = await tandem(work, 'run', file, ...args);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stderr).not.toContain('run at once');
  }, 120_000);
});
