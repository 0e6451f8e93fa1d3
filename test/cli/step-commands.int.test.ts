import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGitRepo, type GitRepo } from '../helpers/git-repo.js';
import { tandem } from '../helpers/run-cli.js';

/**
 * A plan step's `commands` run in the worktree as checks of that step's gate (`step-1`, …), through
 * `tandem run` with the scripted runner and the real gate: a failing one is fed back to the implementer.
 */

const SCRIPT = `defaults:
  plan-reviewer: [ { respond: { status: approved } } ]
  code-reviewer: [ { respond: { status: approved } } ]
tasks:
  T1:
    planner:
      - respond:
          task_id: T1
          steps:
            - { id: S1, type: implementation, description: Write two, files_to_modify: [value.txt], commands: [ "test -s value.txt", "grep -q two value.txt", "npm test" ] }
    steps:
      S1:
        implementer:
          - edits: [ { path: value.txt, content: "one\\n" } ]
            respond: { explanation: wrote one, confidence: 0.9 }
          - edits: [ { path: value.txt, content: "two\\n" } ]
            respond: { explanation: wrote two, confidence: 0.9 }
`;

describe('plan step commands in the gate (tandem run)', () => {
  let work: string;
  let repo: GitRepo;

  beforeEach(async () => {
    work = await realpath(await mkdtemp(join(tmpdir(), 'tandem-step-commands-')));
    repo = await createGitRepo({ 'README.md': '# project\n', 'value.txt': 'zero\n' });
    await writeFile(join(work, 'script.yaml'), SCRIPT);
    // A tests check covers `npm test`: the step's `npm test` is not run a second time.
    await writeFile(
      join(work, 'tandem.config.yaml'),
      'gate:\n  checks:\n    - { name: tests, kind: tests, command: "test -s README.md", timeout_ms: 30000 }\n',
    );
    await writeFile(join(work, 'tasks.yaml'), 'tasks:\n  - id: T1\n    goal: Write two\n');
  });

  afterEach(async () => {
    await repo.cleanup();
    await rm(work, { recursive: true, force: true });
  });

  it('runs each command as a check, sends a failing one back with its name, and passes once all pass', async () => {
    const { code, stdout } = await tandem(work, 'run', 'tasks.yaml', '--repo', repo.dir, '--runner', 'scripted', '--script', 'script.yaml');
    expect(code, stdout).toBe(0);
    expect(stdout).toMatch(/T1 +S1 quality gate +✗ 1 of 3 checks failed: step-2 /);
    expect(stdout).toMatch(/T1 +S1 quality gate +✓ step-1 \(/);
    expect(stdout).toMatch(/T1 +S1 quality gate +✓ 3\/3 checks passed/);
    expect(stdout).not.toContain('step-3');
    expect((await repo.git('show', 'tandem/T1:value.txt')).trim()).toBe('two');
  }, 120_000);
});
