import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunners, runnerSettingsFrom } from '../../src/runners/registry.js';
import { ConfigSchema, createCommandGate, createFileStore, createGitWorkspace, createMemoryBus, createRuntime, TaskSpecSchema } from '../../src/index.js';
import { cliBin, processesLeftIn, repoRoot } from '../helpers/fake-model/e2e-kit.js';
import { startFakeModelServer, type FakeModelServer, type Scenario } from '../helpers/fake-model-server.js';
import { createGitRepo, type GitRepo } from '../helpers/git-repo.js';

/**
 * The whole team on the demo repository with every role a real CLI talking to the fake model server:
 * claude plans, gemini reviews the plan, codex implements, claude reviews the code, and the gate runs
 * the repository's own tests before the step is committed.
 */

const SLUG = "export function slug(text) {\n  return text.toLowerCase().trim().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');\n}\n";

/** Which role a request belongs to, from the opening line of that role's prompt. */
function roleScenario(taskId: string): (request: { text: string }) => Scenario {
  return ({ text }) => {
    if (text.includes('You are the CODE REVIEWER')) return { kind: 'json', value: { status: 'approved', review: { correctness: 9, code_quality: 8 } } };
    if (text.includes('You are the VALIDATOR')) return { kind: 'json', value: { pass: true, issues: [], confidence: 0.9, escalate: false } };
    if (text.includes('You are the PLAN REVIEWER')) return { kind: 'json', value: { status: 'approved', review: { completeness: 8, feasibility: 9 } } };
    if (text.includes('You are the IMPLEMENTER')) {
      return { kind: 'write', path: 'src/slug.js', content: SLUG, then: JSON.stringify({ explanation: 'added slug() in src/slug.js', confidence: 0.9 }) };
    }
    if (text.includes('You are the PLANNER')) {
      return {
        kind: 'json',
        value: {
          task_id: taskId,
          steps: [{ id: 'S1', type: 'implementation', description: 'Add slug(text) in src/slug.js', files_to_create: ['src/slug.js'] }],
        },
      };
    }
    return { kind: 'error', status: 400, message: 'the fake does not know this role' };
  };
}

function demoFiles(dir: string, prefix = ''): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(path.join(dir, prefix))) {
    const rel = prefix === '' ? entry : `${prefix}/${entry}`;
    if (statSync(path.join(dir, rel)).isDirectory()) Object.assign(files, demoFiles(dir, rel));
    else files[rel] = readFileSync(path.join(dir, rel), 'utf8');
  }
  return files;
}

let server: FakeModelServer;
let repo: GitRepo;
let stateDir: string;

beforeAll(async () => {
  server = await startFakeModelServer({ scenario: roleScenario('TEAM-1') });
  repo = await createGitRepo(demoFiles(path.join(repoRoot, 'examples/demo-repo')));
  stateDir = await realpath(await mkdtemp(path.join(tmpdir(), 'tandem-team-state-')));
});
afterAll(async () => {
  await server.close();
  await repo.cleanup();
  await rm(stateDir, { recursive: true, force: true });
});

describe('a task run by the real CLIs against the fake model server', () => {
  it('plans, reviews, implements, reviews and commits a gated step', async () => {
    const common = { config_home: 'isolated', max_retries: 0 };
    const runners = createRunners(
      runnerSettingsFrom({
        'claude-code': { ...common, command: cliBin.claude, base_url: server.url, env: { ANTHROPIC_API_KEY: 'sk-fake' } },
        'gemini-cli': { ...common, command: cliBin.gemini, base_url: server.url, env: { GEMINI_API_KEY: 'fake' } },
        'codex-cli': {
          ...common,
          command: cliBin.codex,
          base_url: `${server.url}/v1`,
          env_key: 'FAKE_OPENAI_API_KEY',
          env: { FAKE_OPENAI_API_KEY: 'sk-fake' },
        },
      }),
      { transcriptDir: path.join(stateDir, 'transcripts') },
    );
    const config = ConfigSchema.parse({
      roles: {
        planner: { provider: 'anthropic', model: 'claude-sonnet-4-5', runner: 'claude-code' },
        'plan-reviewer': { provider: 'google', model: 'gemini-2.5-flash', runner: 'gemini-cli' },
        implementer: { provider: 'openai', model: 'gpt-5.5', runner: 'codex-cli' },
        'code-reviewer': { provider: 'anthropic', model: 'claude-sonnet-4-5', runner: 'claude-code' },
        validator: { provider: 'anthropic', model: 'claude-sonnet-4-5', runner: 'claude-code' },
      },
      limits: { retry_base_delay_ms: 0, role_timeout_ms: 60_000 },
    });
    const store = await createFileStore({ dir: path.join(stateDir, 'store'), lock: true });
    const bus = createMemoryBus();
    const runtime = createRuntime({
      config,
      runners,
      store,
      bus,
      gate: createCommandGate({ checks: [{ name: 'tests', kind: 'custom', command: 'node --test', timeout_ms: 60_000 }], excerptLines: 20 }),
      workspace: createGitWorkspace({ worktreesDir: path.join(stateDir, 'worktrees') }),
    });
    try {
      const task = { spec: TaskSpecSchema.parse({ id: 'TEAM-1', goal: 'Add a slug(text) helper' }), repo: repo.dir, base: 'main', baseCommit: repo.head };
      const outcome = await (await runtime.submit(task)).outcome;
      expect(outcome).toMatchObject({ state: 'DONE', branch: 'tandem/TEAM-1' });
      expect(outcome.commits.map((c) => c.stepId)).toEqual(['S1']);
      expect(await repo.git('show', 'tandem/TEAM-1:src/slug.js')).toBe(SLUG.trimEnd());
      expect(await repo.git('diff', '--name-only', 'main', 'tandem/TEAM-1')).toBe('src/slug.js');
      // Claude plans (StructuredOutput), gemini approves, codex patches then reports, claude approves, claude validates the branch.
      expect(server.requests().map((r) => [r.provider, r.decision])).toEqual([
        ['anthropic', 'tool'],
        ['gemini', 'text'],
        ['openai', 'tool'],
        ['openai', 'text'],
        ['anthropic', 'tool'],
        ['anthropic', 'tool'],
      ]);
      // Claude's own figure three times ($0.0006 each) plus gemini-2.5-flash from the price table; gpt-5.5 has no price.
      expect(outcome.costUsd).toBeCloseTo(0.0018 + (100 * 0.3 + 20 * 2.5) / 1_000_000, 10);
      expect(await processesLeftIn(stateDir)).toEqual([]);
    } finally {
      await runtime.close();
      await bus.close();
      await store.close();
    }
  });
});
