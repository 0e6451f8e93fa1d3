import { existsSync } from 'node:fs';
import { mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { fakeCli, processesLeftIn, teamConfig } from '../helpers/fake-model/e2e-kit.js';
import { startFakeModelServer, type FakeModelServer, type Scenario } from '../helpers/fake-model-server.js';
import { createGitRepo, type GitRepo } from '../helpers/git-repo.js';
import { startTandem, stopAllTandems } from '../helpers/tandem-process.js';

/**
 * Issue 3's bad input, through the whole lifecycle of `tandem run` with the real CLIs against the
 * fake model server: a CLI missing from PATH, a version never tested, an expired login, output that
 * is not the CLI's JSON, a write outside the worktree and a model that never answers. Each ends as
 * the lifecycle says (here: one attempt, then a person), with a classified reason that names the
 * runner and the cause, exit code 3 (never a crash), and no process left behind.
 */

const project = {
  'package.json': JSON.stringify({ name: 'p', type: 'module', scripts: { test: 'node --test' } }),
  'src/add.js': 'export const add = (a, b) => a + b;\n',
  'test/add.test.js':
    "import { test } from 'node:test';\nimport assert from 'node:assert/strict';\nimport { add } from '../src/add.js';\ntest('add', () => assert.equal(add(1, 2), 3));\n",
};

/** What the fake model does for each role in the current case; the planner and reviewers answer well by default. */
let planner: Scenario = { kind: 'json', value: { task_id: 'BAD', steps: [{ id: 'S1', type: 'implementation', description: 'Add mul in src/mul.js' }] } };
let implementer: Scenario = {
  kind: 'write',
  path: 'src/mul.js',
  content: 'export const mul = (a, b) => a * b;\n',
  then: JSON.stringify({ explanation: 'added mul', confidence: 0.9 }),
};

function scenario({ text }: { text: string }): Scenario {
  if (text.includes('You are the CODE REVIEWER') || text.includes('You are the PLAN REVIEWER')) return { kind: 'json', value: { status: 'approved' } };
  if (text.includes('You are the VALIDATOR')) return { kind: 'json', value: { pass: true, issues: [], confidence: 0.9, escalate: false } };
  if (text.includes('You are the IMPLEMENTER')) return implementer;
  if (text.includes('You are the PLANNER')) return planner;
  return { kind: 'error', status: 400, message: 'unknown role' };
}

let server: FakeModelServer;
let repo: GitRepo;
let work: string;

beforeAll(async () => {
  server = await startFakeModelServer({ scenario });
});
afterEach(async () => {
  stopAllTandems();
  await repo.cleanup();
  await rm(work, { recursive: true, force: true });
});
afterAll(async () => {
  await server.close();
});

interface Case {
  readonly runners?: Record<string, Record<string, unknown>>;
  readonly roleTimeoutMs?: number;
}

interface Waiting {
  readonly state: string;
  readonly waiting?: { readonly stage: string; readonly kind: string; readonly reason: string };
}

/** Runs one task with claude planning, gemini reviewing the plan, codex implementing and claude reviewing. */
async function run(options: Case = {}): Promise<{ code: number | string; output: string; record: Waiting; branches: string }> {
  server.clearRequests();
  repo = await createGitRepo(project);
  work = await realpath(await mkdtemp(path.join(tmpdir(), 'tandem-bad-cli-')));
  const limits = { max_attempts: 1, max_transient_retries: 0, role_timeout_ms: options.roleTimeoutMs ?? 60_000 };
  await writeFile(path.join(work, 'tandem.config.yaml'), stringify(teamConfig(server.url, { runners: options.runners ?? {}, limits })));
  await writeFile(path.join(work, 'tasks.yaml'), 'tasks:\n  - id: BAD\n    goal: Add a mul(a, b) helper\n    risk: low\n');
  const state = path.join(work, 'state');
  const tandem = startTandem(['run', 'tasks.yaml', '--repo', repo.dir, '--state-dir', state], { cwd: work });
  const code = await tandem.exited;
  // A run refused before it starts (no runner can take a role) stores no task at all.
  const stored = JSON.parse(await readFile(path.join(state, 'store', 'tasks', 'BAD.json'), 'utf8').catch(() => '{"value":{"state":"none"}}')) as {
    value: Waiting;
  };
  const branches = (await repo.git('branch', '--list', 'tandem/*')).trim();
  // Every CLI the run started is gone: nothing runs in the repository, its worktrees or the work folder.
  expect(await processesLeftIn(work)).toEqual([]);
  expect(await processesLeftIn(repo.dir)).toEqual([]);
  return { code, output: tandem.output(), record: stored.value, branches };
}

describe('tandem run with the real CLIs, on bad input', () => {
  it('a CLI missing from PATH: run refuses at once (exit 2) naming the role and the binary; nothing is created', async () => {
    const { code, output, record, branches } = await run({ runners: { 'codex-cli': { command: '/nonexistent/bin/codex' } } });
    expect(code, output).toBe(2);
    expect(output).toContain('no runner can take the implementer role');
    expect(output).toContain('/nonexistent/bin/codex');
    expect(output).toContain('tandem doctor');
    expect(record.state).toBe('none');
    expect(branches).toBe('');
  }, 120_000);

  it('a CLI version never tested: run refuses at once (exit 2) naming the role and the version; nothing is created', async () => {
    const fakeDir = await mkdtemp(path.join(tmpdir(), 'tandem-fake-cli-'));
    try {
      const old = await fakeCli(fakeDir, 'claude', `echo '1.0.0 (Claude Code)'`);
      const { code, output, record, branches } = await run({ runners: { 'claude-code': { command: old } } });
      expect(code, output).toBe(2);
      expect(output).toContain('no runner can take the planner role');
      expect(output).toContain('1.0.0');
      expect(record.state).toBe('none');
      expect(branches).toBe('');
    } finally {
      await rm(fakeDir, { recursive: true, force: true });
    }
  }, 120_000);

  it('an expired login (401): auth, never retried on the same model; after the fallbacks the plan waits for a person', async () => {
    planner = { kind: 'error', status: 401, message: 'OAuth token has expired' };
    try {
      const { code, output, record } = await run();
      expect(code, output).toBe(3);
      expect(record.waiting).toMatchObject({ stage: 'plan' });
      expect(record.waiting?.reason).toContain('auth');
      // One request per model tried: an auth failure is not retried on the model that gave it.
      const sonnet = server.requests('anthropic').filter((r) => (r.body as { model?: string }).model === 'claude-sonnet-4-5');
      expect(sonnet).toHaveLength(1);
    } finally {
      planner = { kind: 'json', value: { task_id: 'BAD', steps: [{ id: 'S1', type: 'implementation', description: 'Add mul in src/mul.js' }] } };
    }
  }, 120_000);

  it("output that is not the CLI's JSON stream: bad_output, quoting what it printed", async () => {
    const fakeDir = await mkdtemp(path.join(tmpdir(), 'tandem-fake-cli-'));
    try {
      const chatty = await fakeCli(
        fakeDir,
        'claude',
        `case "$1" in --version) echo '2.1.330 (Claude Code)';; *) echo 'Welcome to Claude! Please log in.';; esac`,
      );
      const { code, output, record } = await run({ runners: { 'claude-code': { command: chatty } } });
      expect(code, output).toBe(3);
      expect(record.waiting?.reason).toContain('bad_output');
      expect(record.waiting?.reason).toContain('Welcome to Claude!');
    } finally {
      await rm(fakeDir, { recursive: true, force: true });
    }
  }, 120_000);

  it('a write outside the worktree: refused, permission_denied, nothing written there', async () => {
    const outside = path.join(tmpdir(), `tandem-outside-${process.pid}-${Date.now()}.txt`);
    implementer = { kind: 'write', path: outside, content: 'escaped\n' };
    try {
      const { code, output, record } = await run();
      expect(code, output).toBe(3);
      expect(record.waiting).toMatchObject({ stage: 'step' });
      expect(record.waiting?.reason).toContain('permission_denied');
      expect(existsSync(outside)).toBe(false);
    } finally {
      implementer = {
        kind: 'write',
        path: 'src/mul.js',
        content: 'export const mul = (a, b) => a * b;\n',
        then: JSON.stringify({ explanation: 'added mul', confidence: 0.9 }),
      };
      await rm(outside, { force: true });
    }
  }, 120_000);

  it('a model that never answers: each call times out and its process group is killed; after the fallbacks the plan waits for a person', async () => {
    planner = { kind: 'hang' };
    try {
      const { code, output, record } = await run({ roleTimeoutMs: 4_000 });
      expect(code, output).toBe(3);
      expect(record.waiting).toMatchObject({ stage: 'plan' });
      expect(record.waiting?.reason).toContain('timeout');
    } finally {
      planner = { kind: 'json', value: { task_id: 'BAD', steps: [{ id: 'S1', type: 'implementation', description: 'Add mul in src/mul.js' }] } };
    }
  }, 120_000);
});
