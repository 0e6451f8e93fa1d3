import { mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { chmod, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelRef, Role, RunRequest } from '../../../src/model/execution.js';
import type { ProcessEnd } from '../../../src/runners/cli-runner.js';

/** Shared pieces of the per-CLI e2e suites (test/agents/runners/*.e2e.test.ts). */

export const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

/** The CLI binaries installed as devDependencies at their pinned versions. */
export const cliBin = {
  claude: path.join(repoRoot, 'node_modules/.bin/claude'),
  gemini: path.join(repoRoot, 'node_modules/.bin/gemini'),
  codex: path.join(repoRoot, 'node_modules/.bin/codex'),
} as const;

/** A fresh worktree-like directory (real path) per test. */
export async function tempWorktree(prefix = 'tandem-e2e-wt-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await realpath(await mkdtemp(path.join(tmpdir(), prefix)));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function runRequest(fields: {
  role: Role;
  model: ModelRef;
  cwd: string;
  prompt?: string;
  outputSchema?: Record<string, unknown>;
  timeoutMs?: number;
}): RunRequest {
  return {
    role: fields.role,
    taskId: 'E2E-1',
    stepId: fields.role === 'implementer' || fields.role === 'code-reviewer' ? 'step-1' : undefined,
    attempt: 1,
    try: 0,
    prompt: fields.prompt ?? 'Say hello.',
    outputSchema: fields.outputSchema,
    cwd: fields.cwd,
    model: fields.model,
    allowEdits: fields.role === 'implementer',
    timeoutMs: fields.timeoutMs ?? 60_000,
  };
}

/**
 * Live processes working inside `dir`, or started with it on their command line: after a call has
 * ended, anything found here is an orphan of that call.
 */
export function processesIn(dir: string): { pid: number; cmd: string }[] {
  const found: { pid: number; cmd: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (Number(entry) === process.pid) continue;
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      const cmd = readFileText(`/proc/${entry}/cmdline`).replace(/\0/g, ' ').trim();
      // A process counts if it works in `dir`, or was started on it from elsewhere (a helper that
      // changed its directory, a child given the path as an argument).
      const inside = cwd === dir || cwd.startsWith(`${dir}/`) || cmd.includes(dir);
      if (!inside) continue;
      const stat = readFileText(`/proc/${entry}/stat`);
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      found.push({ pid: Number(entry), cmd });
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

/**
 * The processes still in `dir` after a short grace. Some CLIs start helpers in a session of their own
 * (codex's shell snapshot) that no group kill can reach and that end on their own within moments;
 * anything still there after the grace is an orphan.
 */
export async function processesLeftIn(dir: string, graceMs = 3_000): Promise<{ pid: number; cmd: string }[]> {
  const deadline = Date.now() + graceMs;
  let found = processesIn(dir);
  while (found.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    found = processesIn(dir);
  }
  return found;
}

function readFileText(file: string): string {
  return readFileSync(file, 'utf8');
}

/** A stand-in executable (shell script) for the bad-input cases: wrong version, garbage output, hang. */
export async function fakeCli(dir: string, name: string, script: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, `#!/bin/sh\n${script}\n`, 'utf8');
  await chmod(file, 0o755);
  return file;
}

/**
 * With RECORD=1, writes what the real CLI printed for a case into test/fixtures/cli-output/<cli>/ so
 * the parser unit tests replay genuine output. Temp paths and ports are replaced by placeholders.
 */
export function fixtureRecorder(cli: string, replacements: () => readonly (readonly [string, string])[]) {
  const record = process.env.RECORD === '1';
  const dir = path.join(repoRoot, 'test/fixtures/cli-output', cli);
  return {
    enabled: record,
    save(name: string, end: ProcessEnd | undefined): void {
      if (!record || end === undefined) return;
      mkdirSync(dir, { recursive: true });
      const clean = (text: string): string =>
        replacements()
          .reduce((acc, [from, to]) => acc.split(from).join(to), text)
          .split(repoRoot.replace(/\/$/, ''))
          .join('<repo>')
          // Each call's private temp dir (its TMPDIR and isolated HOME).
          .replace(/\/tmp\/tandem-[a-z-]+-[A-Za-z0-9]{6}/g, '<scratch>');
      writeFileSync(path.join(dir, `${name}.stdout.jsonl`), clean(end.stdout));
      writeFileSync(path.join(dir, `${name}.stderr.txt`), clean(end.stderr));
      writeFileSync(
        path.join(dir, `${name}.meta.json`),
        `${JSON.stringify({ exitCode: end.exitCode, signal: end.signalName, stopped: end.stopped?.reason ?? null, args: end.args.map(clean) }, null, 2)}\n`,
      );
    },
  };
}

/**
 * tandem.config.yaml (as an object) for a run where every role is a real CLI talking to the fake
 * server at `serverUrl`: claude plans, gemini reviews the plan, codex implements (a model of its
 * own catalog, so it edits through apply_patch, which codex confines to the project), claude reviews
 * and validates the branch.
 * `runners` tweaks a runner's settings (e.g. another `command`); the gate runs `node --test`.
 */
export function teamConfig(
  serverUrl: string,
  options: { runners?: Record<string, Record<string, unknown>>; limits?: Record<string, unknown> } = {},
): Record<string, unknown> {
  const common = { config_home: 'isolated', max_retries: 0 };
  const runners: Record<string, Record<string, unknown>> = {
    'claude-code': { ...common, command: cliBin.claude, base_url: serverUrl, env: { ANTHROPIC_API_KEY: 'sk-fake' } },
    'gemini-cli': { ...common, command: cliBin.gemini, base_url: serverUrl, env: { GEMINI_API_KEY: 'fake' } },
    'codex-cli': { ...common, command: cliBin.codex, base_url: `${serverUrl}/v1`, env_key: 'FAKE_OPENAI_API_KEY', env: { FAKE_OPENAI_API_KEY: 'sk-fake' } },
  };
  for (const [name, tweak] of Object.entries(options.runners ?? {})) runners[name] = { ...runners[name], ...tweak };
  return {
    roles: {
      planner: { provider: 'anthropic', model: 'claude-sonnet-4-5', runner: 'claude-code' },
      'plan-reviewer': { provider: 'google', model: 'gemini-2.5-flash', runner: 'gemini-cli' },
      implementer: { provider: 'openai', model: 'gpt-5.5', runner: 'codex-cli' },
      'code-reviewer': { provider: 'anthropic', model: 'claude-sonnet-4-5', runner: 'claude-code' },
      validator: { provider: 'anthropic', model: 'claude-sonnet-4-5', runner: 'claude-code' },
    },
    runners,
    gate: { checks: [{ name: 'tests', kind: 'tests', command: 'node --test', timeout_ms: 60_000 }] },
    limits: { retry_base_delay_ms: 0, role_timeout_ms: 60_000, ...options.limits },
  };
}
