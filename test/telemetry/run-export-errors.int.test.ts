import { createServer } from 'node:net';
import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { createGitRepo, type GitRepo } from '../helpers/git-repo.js';

/** `tandem run` with a collector that is down: the run succeeds, and says so once instead of never. */

const SCRIPT = `defaults:
  plan-reviewer: [ { respond: { status: approved } } ]
  code-reviewer: [ { respond: { status: approved } } ]
tasks:
  T1:
    planner:
      - respond: { task_id: T1, steps: [ { id: S1, type: implementation, description: Write the greeting } ] }
    steps:
      S1:
        implementer:
          - edits: [ { path: greeting.txt, content: "hello from T1\\n" } ]
            respond: { explanation: wrote the greeting, confidence: 0.9 }
`;

const TASKS = `tasks:
  - id: T1
    goal: Write a greeting
    risk: low
    area: general
`;

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('tandem run: trace export errors', () => {
  let work: string;
  let repo: GitRepo;

  beforeEach(async () => {
    work = await realpath(await mkdtemp(join(tmpdir(), 'tandem-export-')));
    repo = await createGitRepo({ 'README.md': '# project\n' });
    await writeFile(join(work, 'script.yaml'), SCRIPT);
    await writeFile(join(work, 'tasks.yaml'), TASKS);
    await writeFile(join(work, 'tandem.config.yaml'), 'gate:\n  checks:\n    - name: greeting\n      command: grep -q hello greeting.txt\n');
  });

  afterEach(async () => {
    await repo.cleanup();
    await rm(work, { recursive: true, force: true });
  });

  it('writes one rate-limited line about the failed exports, and the run itself succeeds', { timeout: 60_000 }, async () => {
    const port = await closedPort();
    let stdout = '';
    let stderr = '';
    const code = await runCli(['run', 'tasks.yaml', '--repo', repo.dir, '--runner', 'scripted', '--script', 'script.yaml'], {
      cwd: work,
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${String(port)}`,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_EXPORTER_OTLP_TIMEOUT: '2000',
        // Several batches during the run, each failing: still one line.
        OTEL_BSP_SCHEDULE_DELAY: '20',
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '2',
      },
      stdout: { write: (text: string) => void (stdout += text), isTTY: false },
      stderr: { write: (text: string) => void (stderr += text), isTTY: false },
      signal: new AbortController().signal,
    });
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/^T1 +DONE +1\/1 /m);
    const lines = stderr.split('\n').filter((line) => line.includes('could not export traces'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^tandem: could not export traces: /);
  });
});
