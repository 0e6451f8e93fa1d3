import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createGitRepo, type GitRepo } from '../helpers/git-repo.js';
import { startTandem, stopAllTandems } from '../helpers/tandem-process.js';

/**
 * With none of the coding CLIs on PATH, `tandem run` refuses at once (exit 2) and creates nothing;
 * `route --explain` fails too, and `doctor` says which folders it looked in.
 */

const PATH = '/usr/bin:/bin';

describe('a role with no runner that can take it (real processes, the CLIs not on PATH)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    stopAllTandems();
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  async function setup() {
    const repo: GitRepo = await createGitRepo({ 'README.md': '# project\n' });
    const dir = await mkdtemp(join(tmpdir(), 'tandem-norunner-'));
    cleanups.push(
      () => repo.cleanup(),
      () => rm(dir, { recursive: true, force: true }),
    );
    await writeFile(join(dir, 'tasks.yaml'), 'tasks:\n  - id: T1\n    goal: Write a greeting\n    risk: low\n    area: docs\n');
    return { repo, dir };
  }

  it('`run` exits 2 naming each role, why and what to do, and leaves no worktree, branch or state', async () => {
    const { repo, dir } = await setup();
    const started = Date.now();
    const run = startTandem(['run', 'tasks.yaml', '--repo', repo.dir], { cwd: dir, env: { PATH } });
    expect(await run.exited, run.output()).toBe(2);
    expect(Date.now() - started).toBeLessThan(10_000);
    const out = run.output();
    expect(out.split('\n')[0]).toBe('tandem: 5 problems in the input; nothing was started:');
    const lines = out.split('\n').filter((l) => l.startsWith('  '));
    const tail = ' (looked in PATH: /usr/bin, /bin); see `tandem doctor`, or try it with `--runner scripted --script <file>`';
    expect(lines).toEqual([
      `  config: routing.matrix.planner: no runner can take the planner role: its models need claude-code or gemini-cli: claude-code claude not found, gemini-cli gemini not found${tail}`,
      `  config: routing.matrix.plan-reviewer: no runner can take the plan-reviewer role: its models need claude-code or gemini-cli: claude-code claude not found, gemini-cli gemini not found${tail}`,
      `  config: routing.matrix.implementer: no runner can take the implementer role: its models need claude-code or gemini-cli or codex-cli: claude-code claude not found, gemini-cli gemini not found, codex-cli codex not found${tail}`,
      `  config: routing.matrix.code-reviewer: no runner can take the code-reviewer role: its models need claude-code or gemini-cli: claude-code claude not found, gemini-cli gemini not found${tail}`,
      `  config: routing.matrix.validator: no runner can take the validator role: its models need claude-code or gemini-cli: claude-code claude not found, gemini-cli gemini not found${tail}`,
    ]);
    expect(existsSync(join(dir, '.tandem'))).toBe(false);
    expect(await readdir(dir)).toEqual(['tasks.yaml']);
    expect(await repo.git('branch', '--format=%(refname:short)')).toBe('main');
    expect(await repo.git('worktree', 'list', '--porcelain')).not.toContain('tandem/');
    expect(existsSync(join(repo.dir, '.tandem'))).toBe(false);
  }, 30_000);

  it('`route --explain` exits 1 with the same reasons; `doctor --offline` names the PATH folders it looked in', async () => {
    const { dir } = await setup();
    const route = startTandem(['route', '--explain', 'tasks.yaml'], { cwd: dir, env: { PATH } });
    expect(await route.exited, route.output()).toBe(1);
    expect(route.output()).toMatch(/^tandem route: no runner can take the implementer role: .*looked in PATH: \/usr\/bin, \/bin/m);

    const doctor = startTandem(['doctor', '--offline'], { cwd: dir, env: { PATH } });
    expect(await doctor.exited, doctor.output()).toBe(1);
    expect(doctor.output()).toMatch(/^claude-code: claude was not found \(looked in PATH: \/usr\/bin, \/bin\); install it/m);
  }, 30_000);
});
