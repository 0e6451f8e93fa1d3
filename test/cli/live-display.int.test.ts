import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { createGitRepo, type GitRepo } from '../helpers/git-repo.js';
import { startTandem, stopAllTandems, tandemBin, waitFor } from '../helpers/tandem-process.js';

/**
 * The live display of `tandem run` in a real terminal (tmux): one status line per running task,
 * redrawn in place below the event lines, gone once the tasks finish; plain lines without a terminal.
 */

const run = promisify(execFile);

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
          - delay_ms: 4000
            edits: [ { path: greeting.txt, content: "hello\\n" } ]
            respond: { explanation: wrote the greeting, confidence: 0.9 }
  T2:
    planner:
      - delay_ms: 5000
        respond: { task_id: T2, steps: [ { id: S1, type: implementation, description: Write the farewell } ] }
    steps:
      S1:
        implementer:
          - edits: [ { path: greeting.txt, content: "hello and bye\\n" } ]
            respond: { explanation: wrote it, confidence: 0.9 }
`;

describe('the live display (tmux)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    stopAllTandems();
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  async function setup() {
    const repo: GitRepo = await createGitRepo({ 'README.md': '# project\n' });
    const dir = await mkdtemp(join(tmpdir(), 'tandem-live-'));
    cleanups.push(
      () => repo.cleanup(),
      () => rm(dir, { recursive: true, force: true }),
    );
    await writeFile(join(dir, 'tasks.yaml'), 'tasks:\n  - id: T1\n    goal: Write a greeting\n  - id: T2\n    goal: Write a farewell\n');
    await writeFile(join(dir, 'script.yaml'), script);
    // A check slow enough to be seen running on the status line.
    await writeFile(
      join(dir, 'tandem.config.yaml'),
      'gate:\n  checks:\n    - { name: greeting, command: sleep 2 && grep -q hello greeting.txt, timeout_ms: 30000 }\n',
    );
    return { repo, dir };
  }

  it('keeps one status line per running task at the bottom, then clears them for the summary', async () => {
    const { repo, dir } = await setup();
    const session = `tandem-live-${process.pid}-${Date.now()}`;
    const command = `${process.execPath} ${tandemBin} run tasks.yaml --repo ${repo.dir} --runner scripted --script script.yaml; echo EXIT=$?; sleep 60`;
    await run('tmux', ['new-session', '-d', '-s', session, '-x', '160', '-y', '40', '-c', dir, '-e', 'NO_COLOR=', command]);
    cleanups.push(() =>
      run('tmux', ['kill-session', '-t', session]).then(
        () => undefined,
        () => undefined,
      ),
    );
    const screen = async (): Promise<string[]> => (await run('tmux', ['capture-pane', '-p', '-t', session])).stdout.split('\n');

    const during = await waitFor(
      'both status lines',
      async () => {
        const lines = await screen();
        return lines.some((l) => /^▸ T1 {2}IMPLEMENTING {2}S1 \(1\/1\) attempt 1 {2}implementer \S+ /.test(l)) &&
          lines.some((l) => /^▸ T2 {2}PLANNING {2}attempt 1 {2}planner /.test(l))
          ? lines
          : undefined;
      },
      20_000,
    );
    const status = during.filter((l) => l.startsWith('▸ '));
    // Exactly one line per task, redrawn in place (not repeated), at the bottom below the event lines.
    expect(status.map((l) => l.slice(0, 4))).toEqual(['▸ T1', '▸ T2']);
    const content = during.map((l) => l.trimEnd()).filter((l) => l !== '');
    expect(content.slice(-2).map((l) => l.slice(0, 4))).toEqual(['▸ T1', '▸ T2']);
    expect(status[0]).toMatch(/implementer \S+ \d+(ms|\.\ds) {2}\d+(ms|\.\ds) {2}~[\d.k]+→[\d.k]+ tok {2}~\$0\.00$/);
    expect(content.some((l) => /T1 +PLANNING +attempt 1/.test(l))).toBe(true);

    // The running gate check takes the role's place on the status line.
    const gating = await waitFor(
      'a gate check on the status line',
      async () => (await screen()).find((l) => /^▸ T\d {2}QUALITY_GATE {2}S1 \(1\/1\) attempt 1 {2}gate greeting \d+(ms|\.\ds) /.test(l)),
      30_000,
    );
    expect(gating).toBeDefined();

    const after = await waitFor(
      'the run to end',
      async () => {
        const lines = await screen();
        return lines.some((l) => l.startsWith('EXIT=')) ? lines : undefined;
      },
      30_000,
    );
    expect(after.filter((l) => l.startsWith('EXIT='))).toEqual(['EXIT=0']);
    expect(after.filter((l) => l.startsWith('▸ '))).toEqual([]);
    expect(after.some((l) => /^T1 +DONE +1\/1/.test(l))).toBe(true);
    expect(after.some((l) => /^T2 +DONE +1\/1/.test(l))).toBe(true);
  }, 60_000);

  it('prints plain lines, no status lines and no escape codes, when stdout is not a terminal', async () => {
    const { repo, dir } = await setup();
    const proc = startTandem(['run', 'tasks.yaml', '--repo', repo.dir, '--runner', 'scripted', '--script', 'script.yaml'], { cwd: dir });
    expect(await proc.exited, proc.output()).toBe(0);
    expect(proc.output()).not.toContain('▸');
    expect(proc.output()).not.toContain('\u001b');
    expect(proc.output()).toMatch(/T1 +IMPLEMENTING +step S1 \(1\/1\) +attempt 1/);
    // Each gate check as it starts and as it finishes, with its time, before the gate's verdict.
    const lines = proc.output().split('\n');
    const started = lines.findIndex((l) => /T1 +S1 quality gate +greeting …$/.test(l));
    const finished = lines.findIndex((l) => /T1 +S1 quality gate +✓ greeting \((\d\.\d)s\)$/.test(l));
    const verdict = lines.findIndex((l) => /T1 +S1 quality gate +✓ /.test(l) && !l.includes('greeting'));
    expect([started >= 0, finished > started, verdict > finished], proc.output()).toEqual([true, true, true]);
    expect(Number(/\((\d\.\d)s\)$/.exec(lines[finished] ?? '')?.[1])).toBeGreaterThanOrEqual(2);
  }, 60_000);
});
