import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGitRepo } from '../helpers/git-repo.js';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { startTandem, stopAllTandems } from '../helpers/tandem-process.js';

/** What a user sees when distributed mode cannot start: each error names the problem and exits. */
describe('tandem serve / submit / status --nats: errors a user can hit', () => {
  let work: string | undefined;
  let secured: NatsServer;

  beforeAll(async () => {
    secured = await startNatsServer({ auth: { user: 'tandem', password: 's3cret-pass' } });
  });
  afterAll(async () => {
    await secured.cleanup();
  });
  afterEach(async () => {
    stopAllTandems();
    if (work) await rm(work, { recursive: true, force: true });
    work = undefined;
  });

  async function tandem(args: string[], env: Record<string, string> = {}): Promise<{ code: number | string; output: string }> {
    const dir = (work ??= await realpath(await mkdtemp(join(tmpdir(), 'tandem-serve-cli-'))));
    const proc = startTandem([...args, '--state-dir', join(dir, 'state')], { cwd: dir, env });
    return { code: await proc.exited, output: proc.output() };
  }

  it('refuses an unknown service, naming the ones there are', async () => {
    const { code, output } = await tandem(['serve', 'plannr', '--nats', 'nats://127.0.0.1:1']);
    expect(code).toBe(2);
    expect(output).toContain('unknown service "plannr": use supervisor, planner, plan-reviewer, implementer, code-reviewer, quality-gate or all');
  });

  it('says which server it could not reach', async () => {
    const { code, output } = await tandem(['status', '--nats', 'nats://127.0.0.1:1']);
    expect(code).toBe(1);
    expect(output).toMatch(/127\.0\.0\.1:1/);
  });

  it('refuses wrong credentials with an error that names the setting and never prints the password', async () => {
    const wrong = await tandem(['status', '--nats', secured.url], { NATS_USER: 'tandem', NATS_PASSWORD: 'wrong-password' });
    expect(wrong.code).toBe(2);
    expect(wrong.output).toMatch(/auth|credentials|password/i);
    expect(wrong.output).not.toContain('wrong-password');
    const right = await tandem(['status', '--nats', secured.url], { NATS_USER: 'tandem', NATS_PASSWORD: 's3cret-pass' });
    expect(right).toMatchObject({ code: 0 });
    expect(right.output).toContain('no tasks yet');
  });

  it('rejects a bad nats: section of the config with its field', async () => {
    const dir = (work ??= await realpath(await mkdtemp(join(tmpdir(), 'tandem-serve-cli-'))));
    await writeFile(join(dir, 'tandem.config.yaml'), 'nats:\n  servers: ["not a url"]\n');
    const { code, output } = await tandem(['status', '--nats']);
    expect(code).toBe(2);
    expect(output).toContain('nats.servers');
  });

  it('submits a task once: the same id again is not sent twice, and an invalid task file sends nothing', async () => {
    const env = { NATS_USER: 'tandem', NATS_PASSWORD: 's3cret-pass' };
    const repo = await createGitRepo({ 'README.md': '# r\n' });
    try {
      const dir = (work ??= await realpath(await mkdtemp(join(tmpdir(), 'tandem-serve-cli-'))));
      await writeFile(join(dir, 'tasks.yaml'), 'tasks:\n  - id: SUB-1\n    goal: Write the note\n');
      const first = await tandem(['submit', 'tasks.yaml', '--repo', repo.dir, '--nats', secured.url], env);
      expect(first).toMatchObject({ code: 0 });
      expect(first.output).toContain(`submitted SUB-1 (${repo.dir} @ main)`);
      const again = await tandem(['submit', 'tasks.yaml', '--repo', repo.dir, '--nats', secured.url], env);
      expect(again.output).toContain('SUB-1 was already submitted and waits for a supervisor; not sent again');
      await writeFile(join(dir, 'bad.yaml'), 'tasks:\n  - id: SUB-2\n    risk: extreme\n');
      const bad = await tandem(['submit', 'bad.yaml', '--repo', repo.dir, '--nats', secured.url], env);
      expect(bad.code).toBe(2);
      expect(bad.output).toMatch(/bad\.yaml:3/);
      expect(bad.output).not.toContain('submitted');
    } finally {
      await repo.cleanup();
    }
  });

  it('asks for --follow on events, and for the services on review of an unknown task', async () => {
    const events = await tandem(['events', '--nats', secured.url]);
    expect(events.code).toBe(2);
    expect(events.output).toContain('pass --follow');
    const review = await tandem(['review', 'NOPE', '--approve', '--nats', secured.url], { NATS_USER: 'tandem', NATS_PASSWORD: 's3cret-pass' });
    expect(review.code).toBe(2);
    expect(review.output).toContain('no task NOPE');
  });
});
