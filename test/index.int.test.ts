import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createGitRepo } from './helpers/git-repo.js';

/**
 * The README's "As a library" block, run as written against the built package in its own Node
 * process: it must finish the task and then let the process exit on its own (nothing it opened may
 * keep the event loop alive once it is closed).
 */

const root = fileURLToPath(new URL('..', import.meta.url));
const packageEntry = pathToFileURL(join(root, 'dist', 'index.js')).href;
const tsxLoader = pathToFileURL(join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

async function readmeLibraryBlock(): Promise<string> {
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  const section = readme.split('## As a library')[1];
  const block = section?.match(/```ts\n([\s\S]*?)```/)?.[1];
  if (!block) throw new Error('README.md has no ```ts block under "## As a library"');
  return block;
}

const project = {
  'package.json': JSON.stringify({ name: 'p', type: 'module', scripts: { test: 'node --test' } }),
  'src/add.js': 'export const add = (a, b) => a + b;\n',
  'test/add.test.js':
    "import { test } from 'node:test';\nimport assert from 'node:assert/strict';\nimport { add } from '../src/add.js';\ntest('add', () => assert.equal(add(1, 2), 3));\n",
};

const script = {
  defaults: { 'plan-reviewer': [{ respond: { status: 'approved' } }], 'code-reviewer': [{ respond: { status: 'approved' } }] },
  tasks: {
    T1: {
      planner: [{ respond: { task_id: 'T1', steps: [{ id: 'S1', type: 'implementation', description: 'add mul' }] } }],
      steps: {
        S1: {
          implementer: [
            {
              edits: [{ path: 'src/mul.js', content: 'export const mul = (a, b) => a * b;\n' }],
              respond: { explanation: 'added mul', confidence: 0.9 },
            },
          ],
        },
      },
    },
  },
};

function runNode(args: string[], cwd: string): Promise<{ code: number | string; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    // A hang is the failure this test exists for: kill it and say so rather than time the test out.
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal ?? -1, output });
    });
  });
}

describe('README "As a library"', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it('runs a task to DONE and the program exits by itself once everything is closed', async () => {
    const repo = await createGitRepo(project);
    const dir = await mkdtemp(join(tmpdir(), 'tandem-library-'));
    cleanups.push(
      () => repo.cleanup(),
      () => rm(dir, { recursive: true, force: true }),
    );
    await writeFile(join(dir, 'tasks.yaml'), `tasks:\n  - id: T1\n    goal: Add mul\n    risk: low\n    area: core\n    repo: ${repo.dir}\n`);
    await writeFile(join(dir, 'tandem.config.yaml'), 'gate:\n  checks:\n    - { name: test, kind: tests, command: node --test, timeout_ms: 60000 }\n');

    const block = (await readmeLibraryBlock()).replaceAll("from 'tandem'", `from '${packageEntry}'`);
    const program = [
      `import { createScriptedRunner } from '${packageEntry}';`,
      `const myRunner = createScriptedRunner({ script: ${JSON.stringify(script)} });`,
      block,
    ].join('\n');
    await writeFile(join(dir, 'program.mts'), program);

    const { code, output } = await runNode(['--import', tsxLoader, 'program.mts'], dir);
    expect(code, output).toBe(0);
    expect(output).toMatch(/^DONE tandem\/T1$/m);
    expect(output).toContain('task.state T1');
    expect(await repo.git('log', '--format=%s', 'main..tandem/T1')).not.toBe('');
    expect(await repo.git('show', 'tandem/T1:src/mul.js')).toContain('a * b');
  }, 60_000);
});
