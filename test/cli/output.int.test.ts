import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { createGitRepo, type GitRepo } from '../helpers/git-repo.js';
import { startTandem, stopAllTandems, tandemBin } from '../helpers/tandem-process.js';

/** The real `tandem run` process: `--json` is a versioned event stream, `--quiet` prints only the end, color only at a terminal. */

const script = `defaults:
  plan-reviewer: [ { respond: { status: approved } } ]
  code-reviewer: [ { respond: { status: approved } } ]
tasks:
  T1:
    planner:
      - respond: { task_id: T1, steps: [ { id: S1, type: implementation, description: Write the greeting } ] }
    steps:
      S1:
        implementer:
          - edits: [ { path: greeting.txt, content: "hello\\n" } ]
            respond: { explanation: wrote the greeting, confidence: 0.9 }
`;

const ESC = '\u001b[';
/** A color (SGR) sequence; the live display's cursor moves are not color and stay at a terminal. */
const SGR = new RegExp(`${ESC.replace('[', '\\[')}[0-9;]*m`);

describe('run output (real processes)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    stopAllTandems();
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  async function setup() {
    const repo: GitRepo = await createGitRepo({ 'README.md': '# project\n' });
    const dir = await mkdtemp(join(tmpdir(), 'tandem-output-'));
    cleanups.push(
      () => repo.cleanup(),
      () => rm(dir, { recursive: true, force: true }),
    );
    await writeFile(join(dir, 'tasks.yaml'), 'tasks:\n  - id: T1\n    goal: Write a greeting\n');
    await writeFile(join(dir, 'script.yaml'), script);
    await writeFile(join(dir, 'tandem.config.yaml'), 'gate:\n  checks:\n    - { name: greeting, command: grep -q hello greeting.txt, timeout_ms: 30000 }\n');
    return {
      repo,
      dir,
      args: (state: string) => ['run', 'tasks.yaml', '--repo', repo.dir, '--runner', 'scripted', '--script', 'script.yaml', '--state-dir', join(dir, state)],
    };
  }

  it('--json prints only JSON lines with v: 1, the lifecycle in order, and run.finished last', async () => {
    const { dir, args } = await setup();
    const run = startTandem([...args('s1'), '--json'], { cwd: dir });
    expect(await run.exited, run.output()).toBe(0);
    const lines = run
      .output()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { v: number; type: string; state?: string; taskId?: string; exit_code?: number; tasks?: { id: string; state: string }[] });
    expect(lines.every((l) => l.v === 1)).toBe(true);
    expect(lines.filter((l) => l.type === 'task.state').map((l) => l.state)).toEqual([
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
    ]);
    // planner, plan-reviewer, implementer, code-reviewer, validator.
    expect(lines.filter((l) => l.type === 'role.finished')).toHaveLength(5);
    const last = lines.at(-1);
    expect(last).toMatchObject({ type: 'run.finished', exit_code: 0, tasks: [{ id: 'T1', state: 'DONE' }] });
  }, 60_000);

  it('--quiet prints no banner and no progress, only the summary', async () => {
    const { dir, args } = await setup();
    const run = startTandem([...args('s2'), '--quiet'], { cwd: dir });
    expect(await run.exited, run.output()).toBe(0);
    expect(run.output().trim().split('\n')).toEqual([expect.stringMatching(/^TASK +STATE +STEPS +MODEL CALLS/), expect.stringMatching(/^T1 +DONE +1\/1 +5 /)]);
  }, 60_000);

  it('colors at a terminal; none with NO_COLOR or --no-color', async () => {
    const env = { ...process.env };
    delete env['NO_COLOR'];
    // Each run gets its own repository: a second run in the same one would find the task's branch
    // already holding the greeting, and a step that changes nothing is sent back.
    const inPty = async (extra: string[], more: Record<string, string> = {}): Promise<string> => {
      const { dir, args } = await setup();
      const command = [process.execPath, tandemBin, ...args('s'), ...extra].map((a) => `'${a}'`).join(' ');
      const { stdout } = await promisify(execFile)('script', ['-qfc', command, '/dev/null'], { cwd: dir, env: { ...env, ...more } });
      return stdout;
    };
    const colored = await inPty([]);
    expect(colored).toContain(`${ESC}32mDONE`);
    expect(colored).toMatch(/T1 +DONE +1\/1/);
    const noColor = await inPty([], { NO_COLOR: '1' });
    expect(noColor).toMatch(/T1 +DONE +1\/1/);
    expect(noColor).not.toMatch(SGR);
    const flag = await inPty(['--no-color']);
    expect(flag).toMatch(/T1 +DONE +1\/1/);
    expect(flag).not.toMatch(SGR);
  }, 90_000);
});
