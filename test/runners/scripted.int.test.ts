import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunRequest } from '../../src/model/execution.js';
import { createScriptedRunner } from '../../src/runners/scripted.js';
import type { ScriptEdit, ScriptTurn } from '../../src/runners/scripted-script.js';

let base: string;
let cwd: string;
let outside: string;

beforeEach(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'tandem-scripted-'));
  cwd = path.join(base, 'worktree');
  outside = path.join(base, 'outside');
  await mkdir(path.join(cwd, 'src'), { recursive: true });
  await mkdir(outside);
  await writeFile(path.join(cwd, 'src/x.js'), 'export const a = "a";\nexport const b = "a$&";\n');
  await writeFile(path.join(cwd, 'old.txt'), 'old\n');
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

function implementerCall(overrides: Partial<RunRequest> = {}): RunRequest {
  return {
    role: 'implementer',
    taskId: 'T-1',
    stepId: 'S1',
    attempt: 1,
    try: 0,
    prompt: 'implement',
    cwd,
    model: { provider: 'openai', model: 'gpt-5-codex', runner: 'scripted' },
    allowEdits: true,
    timeoutMs: 60_000,
    ...overrides,
  };
}

function runnerWith(...turns: ScriptTurn[]): ReturnType<typeof createScriptedRunner> {
  return createScriptedRunner({ script: { tasks: { 'T-1': { steps: { S1: { implementer: turns } } } } } });
}

const editing = (...edits: ScriptEdit[]): ScriptTurn => ({ edits, respond: { explanation: 'edited', confidence: 0.8 } });
const live = (): { signal: AbortSignal } => ({ signal: new AbortController().signal });

/** Every file under `dir` with its content, to show that nothing was touched. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    files[path.relative(base, file)] = await readFile(file, 'utf8');
  }
  return files;
}

describe('scripted runner edits (real filesystem)', () => {
  it('creates (with parent folders), replaces and deletes files, then answers', async () => {
    const runner = runnerWith(
      editing(
        { path: 'src/deep/slug.js', content: 'export const slug = (s) => s;\n' },
        { path: 'src/x.js', replace: { from: '"a$&"', to: '"$1 b"' } },
        { path: 'src/x.js', replace: { from: 'a', to: 'z' } },
        { path: 'old.txt', delete: true },
      ),
    );
    const result = await runner.run(implementerCall(), live());
    expect([result.success, result.response, result.runner]).toEqual([true, '{"explanation":"edited","confidence":0.8}', 'scripted']);
    expect(await snapshot(base)).toEqual({
      'worktree/src/deep/slug.js': 'export const slug = (s) => s;\n',
      'worktree/src/x.js': 'export const z = "a";\nexport const b = "$1 b";\n',
    });
  });

  it('gives the same result when a call is repeated, deleting an already deleted file included', async () => {
    const runner = runnerWith(editing({ path: 'new.txt', content: 'new\n' }, { path: 'old.txt', delete: true }));
    const first = await runner.run(implementerCall(), live());
    const again = await runner.run(implementerCall(), live());
    expect([first.success, again.success]).toEqual([true, true]);
    expect(await snapshot(base)).toEqual({ 'worktree/new.txt': 'new\n', 'worktree/src/x.js': 'export const a = "a";\nexport const b = "a$&";\n' });
  });

  it('fails as crashed, touching nothing, when a replace does not find its text', async () => {
    const before = await snapshot(base);
    const runner = runnerWith(editing({ path: 'created.txt', content: 'x' }, { path: 'src/x.js', replace: { from: 'missing', to: 'y' } }));
    const result = await runner.run(implementerCall(), live());
    expect([result.success, result.error_kind, result.error]).toEqual([
      false,
      'crashed',
      'scripted edit failed: src/x.js does not contain "missing" (tasks.T-1.steps.S1.implementer[0])',
    ]);
    expect(await snapshot(base)).toEqual(before);
  });

  it('fails as crashed when a replace targets a missing file', async () => {
    const result = await runnerWith(editing({ path: 'nope.js', replace: { from: 'a', to: 'b' } })).run(implementerCall(), live());
    expect([result.error_kind, result.error]).toEqual([
      'crashed',
      'scripted edit failed: nope.js does not exist, cannot replace in it (tasks.T-1.steps.S1.implementer[0])',
    ]);
  });

  it.each([
    ['a parent path', '../outside/escaped.txt', 'scripted edit refused: ../outside/escaped.txt is outside the working directory'],
    ['a path that climbs back in and out', 'src/../../outside/x.txt', 'scripted edit refused: src/../../outside/x.txt is outside the working directory'],
    ['an absolute path', '/tmp/tandem-scripted-absolute.txt', 'scripted edit refused: /tmp/tandem-scripted-absolute.txt is an absolute path'],
    ['the working directory itself', '.', 'scripted edit refused: . is outside the working directory'],
    ['a path inside .git', '.git/hooks/pre-commit', 'scripted edit refused: .git/hooks/pre-commit is inside .git'],
    [
      'a symlinked folder that leads outside',
      'linked/escaped.txt',
      'scripted edit refused: linked/escaped.txt leads outside the working directory through a symlink',
    ],
    ['a symlinked file that leads outside', 'link.txt', 'scripted edit refused: link.txt leads outside the working directory through a symlink'],
    ['a dangling symlink', 'dangling.txt', 'scripted edit refused: dangling.txt goes through a dangling symlink'],
  ])('refuses %s with permission_denied and touches nothing', async (_name, target, message) => {
    await symlink(outside, path.join(cwd, 'linked'));
    await writeFile(path.join(outside, 'target.txt'), 'outside\n');
    await symlink(path.join(outside, 'target.txt'), path.join(cwd, 'link.txt'));
    await symlink(path.join(base, 'missing'), path.join(cwd, 'dangling.txt'));
    const before = await snapshot(base);
    const runner = runnerWith(editing({ path: 'first.txt', content: 'first\n' }, { path: target, content: 'escaped\n' }));
    const result = await runner.run(implementerCall(), live());
    expect([result.success, result.error_kind, result.error]).toEqual([false, 'permission_denied', `${message} (tasks.T-1.steps.S1.implementer[0])`]);
    expect(await snapshot(base)).toEqual(before);
    await expect(readFile('/tmp/tandem-scripted-absolute.txt', 'utf8')).rejects.toThrow('ENOENT');
  });

  it('allows a name that merely starts with two dots', async () => {
    const result = await runnerWith(editing({ path: '..notes.txt', content: 'ok\n' })).run(implementerCall(), live());
    expect(result.success).toBe(true);
    expect(await readFile(path.join(cwd, '..notes.txt'), 'utf8')).toBe('ok\n');
  });

  it('allows a symlink that stays inside the working directory', async () => {
    await symlink(path.join(cwd, 'src'), path.join(cwd, 'source'));
    const result = await runnerWith(editing({ path: 'source/via-link.js', content: 'ok\n' })).run(implementerCall(), live());
    expect(result.success).toBe(true);
    expect(await readFile(path.join(cwd, 'src/via-link.js'), 'utf8')).toBe('ok\n');
  });

  it('refuses edits when allowEdits is false, touching nothing', async () => {
    const before = await snapshot(base);
    const result = await runnerWith(editing({ path: 'new.txt', content: 'x' })).run(implementerCall({ allowEdits: false }), live());
    expect([result.success, result.error_kind]).toEqual([false, 'permission_denied']);
    expect(await snapshot(base)).toEqual(before);
  });

  it('applies edits only with the turn’s own answer, not with its before items', async () => {
    const runner = runnerWith({ ...editing({ path: 'new.txt', content: 'x\n' }), before: [{ raw: 'Sure! Here it is' }, { fail: 'timeout' }] });
    const tries = [];
    for (let attempt = 0; attempt < 2; attempt += 1) {
      tries.push(await runner.run(implementerCall({ try: attempt }), live()));
      expect(await snapshot(base)).not.toHaveProperty('worktree/new.txt');
    }
    const own = await runner.run(implementerCall({ try: 2 }), live());
    expect([tries[0]?.response, tries[1]?.error_kind, own.success]).toEqual(['Sure! Here it is', 'timeout', true]);
    expect(await readFile(path.join(cwd, 'new.txt'), 'utf8')).toBe('x\n');
  });

  it('fails as crashed when the working directory does not exist', async () => {
    const result = await runnerWith(editing({ path: 'a.txt', content: 'x' })).run(implementerCall({ cwd: path.join(base, 'gone') }), live());
    expect(result.error_kind).toBe('crashed');
    expect(result.error).toMatch(/^cannot use the working directory .*gone: ENOENT/);
  });
});
