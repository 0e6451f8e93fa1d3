import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { processesLeftIn, repoRoot, teamConfig } from '../helpers/fake-model/e2e-kit.js';
import { startFakeModelServer, type FakeModelServer, type Scenario } from '../helpers/fake-model-server.js';
import { createGitRepo, type GitRepo } from '../helpers/git-repo.js';
import { startTandem, stopAllTandems } from '../helpers/tandem-process.js';

/**
 * `tandem run` as a user runs it, with every role a real coding CLI configured in tandem.config.yaml
 * and talking to the fake model server: claude plans, gemini reviews the plan, codex implements,
 * claude reviews the code, and the step is committed only after the repository's tests pass.
 */

const SLUG = "export function slug(text) {\n  return text.toLowerCase().trim().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');\n}\n";

function scenario({ text }: { text: string }): Scenario {
  if (text.includes('You are the CODE REVIEWER')) return { kind: 'json', value: { status: 'approved', review: { correctness: 9 } } };
  if (text.includes('You are the VALIDATOR')) return { kind: 'json', value: { pass: true, issues: [], confidence: 0.9, escalate: false } };
  if (text.includes('You are the PLAN REVIEWER')) return { kind: 'json', value: { status: 'approved', review: { completeness: 8 } } };
  if (text.includes('You are the IMPLEMENTER')) {
    return { kind: 'write', path: 'src/slug.js', content: SLUG, then: JSON.stringify({ explanation: 'added slug()', confidence: 0.9 }) };
  }
  if (text.includes('You are the PLANNER')) {
    return { kind: 'json', value: { task_id: 'CLI-1', steps: [{ id: 'S1', type: 'implementation', description: 'Add slug(text) in src/slug.js' }] } };
  }
  return { kind: 'error', status: 400, message: 'unknown role' };
}

function filesOf(dir: string, prefix = ''): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(path.join(dir, prefix))) {
    const rel = prefix === '' ? entry : `${prefix}/${entry}`;
    if (statSync(path.join(dir, rel)).isDirectory()) Object.assign(files, filesOf(dir, rel));
    else files[rel] = readFileSync(path.join(dir, rel), 'utf8');
  }
  return files;
}

let server: FakeModelServer;
let repo: GitRepo;
let work: string;

beforeAll(async () => {
  server = await startFakeModelServer({ scenario });
  repo = await createGitRepo(filesOf(path.join(repoRoot, 'examples/demo-repo')));
  work = await realpath(await mkdtemp(path.join(tmpdir(), 'tandem-cli-e2e-')));
});
afterEach(() => stopAllTandems());
afterAll(async () => {
  await server.close();
  await repo.cleanup();
  await rm(work, { recursive: true, force: true });
});

describe('tandem run with the real CLIs', () => {
  it('runs a task to DONE with claude, gemini and codex configured in tandem.config.yaml', async () => {
    await writeFile(path.join(work, 'tandem.config.yaml'), stringify(teamConfig(server.url)));
    await writeFile(path.join(work, 'tasks.yaml'), 'tasks:\n  - id: CLI-1\n    goal: Add a slug(text) helper\n    risk: low\n');
    const state = path.join(work, 'state');
    // A HOME and a TMPDIR of its own show what the run leaves behind: nothing in either.
    const home = await mkdtemp(path.join(tmpdir(), 'tandem-e2e-home-'));
    const temp = await mkdtemp(path.join(tmpdir(), 'tandem-e2e-tmp-'));
    const tandem = startTandem(['run', 'tasks.yaml', '--repo', repo.dir, '--state-dir', state], { cwd: work, env: { HOME: home, TMPDIR: temp } });
    const code = await tandem.exited;
    const output = tandem.output();
    expect(code, output).toBe(0);
    expect(output).toMatch(/planner +claude-sonnet-4-5 \[claude-code\] +✓ plan with 1 step/);
    expect(output).toMatch(/plan-reviewer +gemini-2\.5-flash \[gemini-cli\] +✓ approved/);
    expect(output).toMatch(/S1 implementer +gpt-5\.5 \[codex-cli\] +✓/);
    expect(output).toMatch(/S1 code-reviewer +claude-sonnet-4-5 \[claude-code\] +✓ approved/);
    expect(output).toMatch(/^CLI-1 +DONE +1\/1/m);
    expect(await repo.git('show', 'tandem/CLI-1:src/slug.js')).toBe(SLUG.trimEnd());
    expect(await repo.git('log', '-1', '--format=%(trailers:key=Tandem-Implementer,valueonly)', 'tandem/CLI-1')).toBe('openai/gpt-5.5');
    expect(await repo.git('log', '-1', '--format=%(trailers:key=Tandem-Reviewer,valueonly)', 'tandem/CLI-1')).toBe('anthropic/claude-sonnet-4-5');
    // The step was committed only after the repository's real tests passed in the gate.
    expect(await repo.git('log', '-1', '--format=%(trailers:key=Tandem-Gate,valueonly)', 'tandem/CLI-1')).toMatch(/^1\/1 checks passed/);
    // Each CLI ran with an isolated config home: the user's HOME is untouched, every call's temp dir is gone.
    expect(Object.keys(filesOf(home, ''))).toEqual([]);
    expect(readdirSync(temp)).toEqual([]);
    await rm(home, { recursive: true, force: true });
    await rm(temp, { recursive: true, force: true });
    expect(server.requests().map((r) => r.provider)).toEqual(['anthropic', 'gemini', 'openai', 'openai', 'anthropic', 'anthropic']);
    expect(await processesLeftIn(work)).toEqual([]);
  }, 180_000);
});
