import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isProcessAlive } from '../../src/platform/process/run-process.js';
import { createGitRepo, type GitRepo } from '../helpers/git-repo.js';
import { readTaskState, startTandem, stopAllTandems, waitFor } from '../helpers/tandem-process.js';

/**
 * Persistence before effects: a supervisor killed with SIGKILL in the middle of a step is resumed
 * by `tandem resume`, which finishes every task with exactly one commit per step.
 */

const project = {
  'package.json': JSON.stringify({ name: 'p', type: 'module', scripts: { test: 'node --test' } }),
  'src/add.js': 'export const add = (a, b) => a + b;\n',
  'test/add.test.js':
    "import { test } from 'node:test';\nimport assert from 'node:assert/strict';\nimport { add } from '../src/add.js';\ntest('add', () => assert.equal(add(1, 2), 3));\n",
};

const tasks = `tasks:
  - id: T1
    goal: Add mul and sub
    risk: low
    area: core
`;

/** Two steps; each implementer answer takes `delayMs`, giving the test a window to kill the supervisor. */
function script(delayMs: number): string {
  const step = (name: string, op: string) => `
        implementer:
          - delay_ms: ${delayMs}
            edits:
              - { path: src/${name}.js, content: "export const ${name} = (a, b) => a ${op} b;\\n" }
              - path: test/${name}.test.js
                content: |
                  import { test } from 'node:test';
                  import assert from 'node:assert/strict';
                  import { ${name} } from '../src/${name}.js';
                  test('${name}', () => assert.equal(${name}(6, 3), ${op === '*' ? 18 : 3}));
            respond: { explanation: "added ${name}", confidence: 0.9 }`;
  return `defaults:
  plan-reviewer: [ { respond: { status: approved } } ]
  code-reviewer: [ { respond: { status: approved } } ]
tasks:
  T1:
    planner:
      - respond:
          task_id: T1
          steps:
            - { id: S1, type: implementation, description: "add mul" }
            - { id: S2, type: implementation, description: "add sub" }
    steps:
      S1:${step('mul', '*')}
      S2:${step('sub', '-')}
`;
}

/** A gate check that records its pid, then takes a while before running the real tests. */
const slowGate = (pidFile: string) => `gate:
  checks:
    - name: test
      kind: tests
      command: echo $$ > ${pidFile} && sleep 3 && node --test
      timeout_ms: 60000
`;

async function stepCommits(repo: GitRepo): Promise<string[]> {
  const log = await repo.git('log', '--format=%(trailers:key=Tandem-Step,valueonly,separator=)', 'main..tandem/T1');
  return log.split('\n').filter((l) => l.trim() !== '');
}

describe('resume after kill -9', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    stopAllTandems();
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  async function setup(options: { delayMs: number; config?: (dir: string) => string }) {
    const repo = await createGitRepo(project);
    const dir = await mkdtemp(join(tmpdir(), 'tandem-resume-'));
    cleanups.push(
      () => repo.cleanup(),
      () => rm(dir, { recursive: true, force: true }),
    );
    await writeFile(join(dir, 'tasks.yaml'), tasks);
    await writeFile(join(dir, 'script.yaml'), script(options.delayMs));
    if (options.config) await writeFile(join(dir, 'tandem.config.yaml'), options.config(dir));
    const state = join(dir, 'state');
    const args = ['run', 'tasks.yaml', '--repo', repo.dir, '--runner', 'scripted', '--script', 'script.yaml', '--state-dir', state];
    return { repo, dir, state, args };
  }

  it('continues a task killed during IMPLEMENTING, with no duplicated and no lost commit', async () => {
    const { repo, dir, state, args } = await setup({ delayMs: 1_500 });
    const first = startTandem(args, { cwd: dir });
    await waitFor('T1 to implement S2', async () => {
      const s = await readTaskState(state, 'T1');
      const committed = s === 'IMPLEMENTING' ? await stepCommits(repo).catch(() => []) : [];
      return committed.length === 1 ? true : undefined;
    });
    process.kill(first.pid, 'SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    expect(await readTaskState(state, 'T1')).toBe('IMPLEMENTING');

    const second = startTandem(['resume', '--state-dir', state], { cwd: dir });
    expect(await second.exited, second.output()).toBe(0);
    expect(second.output()).toMatch(/^T1 +DONE +2\/2/m);
    expect(await readTaskState(state, 'T1')).toBe('DONE');
    expect(await stepCommits(repo)).toEqual(['S2', 'S1']);
    expect(await repo.git('status', '--porcelain')).toBe('');
    expect(await repo.git('rev-parse', 'main')).toBe(repo.head);
  }, 90_000);

  it("`run --resume` keeps the killed run's runner and script instead of switching to the real CLIs", async () => {
    const { repo, dir, state, args } = await setup({ delayMs: 1_500 });
    const first = startTandem(args, { cwd: dir });
    await waitFor('T1 to implement S1', async () => ((await readTaskState(state, 'T1')) === 'IMPLEMENTING' ? true : undefined));
    process.kill(first.pid, 'SIGKILL');
    expect(await first.exited).toBe('SIGKILL');

    const second = startTandem(['run', '--resume', '--state-dir', state], { cwd: dir });
    expect(await second.exited, second.output()).toBe(0);
    expect(second.output()).toContain('SCRIPTED');
    expect(second.output()).toMatch(/^T1 +DONE +2\/2/m);
    expect(await stepCommits(repo)).toEqual(['S2', 'S1']);
  }, 90_000);

  it('refuses a damaged record of the last run rather than guessing a runner', async () => {
    const { dir, state, args } = await setup({ delayMs: 0 });
    const first = startTandem(args, { cwd: dir });
    expect(await first.exited, first.output()).toBe(0);
    await writeFile(join(state, 'last-run.json'), '{"runner": 7');

    const second = startTandem(['resume', '--state-dir', state], { cwd: dir });
    expect(await second.exited).toBe(2);
    expect(second.output()).toContain(`${join(state, 'last-run.json')}: not a record of the last run`);
    expect(second.output()).toContain('pass --runner');
  }, 90_000);

  it('continues a task killed during QUALITY_GATE, killing the orphaned check and re-running the gate', async () => {
    const { repo, dir, state, args } = await setup({ delayMs: 0, config: (d) => slowGate(join(d, 'gate.pid')) });
    const first = startTandem(args, { cwd: dir });
    const orphan = await waitFor('the first gate check to start', async () => {
      if ((await readTaskState(state, 'T1')) !== 'QUALITY_GATE') return undefined;
      const pid = Number((await readFile(join(dir, 'gate.pid'), 'utf8').catch(() => '')).trim());
      return pid > 0 ? pid : undefined;
    });
    process.kill(first.pid, 'SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    // The supervisor is gone but its check runs on in the worktree.
    expect(isProcessAlive(orphan)).toBe(true);
    await rm(join(dir, 'gate.pid'));

    const second = startTandem(['resume', '--state-dir', state], { cwd: dir });
    const status = await second.exited;
    expect(status, second.output()).toBe(0);
    expect(isProcessAlive(orphan)).toBe(false);
    expect(await readTaskState(state, 'T1')).toBe('DONE');
    expect(await stepCommits(repo)).toEqual(['S2', 'S1']);
    const trailers = await repo.git('log', '-1', '--format=%B', 'tandem/T1');
    expect(trailers).toContain('Tandem-Gate: 1/1 checks passed');
  }, 90_000);
});
