import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerBotCommand } from '../../src/cli/bot.js';
import type { RegisterCommand } from '../../src/cli/io.js';
import { registerWatchCommand } from '../../src/cli/watch.js';
import { startFakeOllama, type FakeOllama, type FakeOllamaRequest } from '../helpers/fake-ollama.js';
import { startFakeTelegram, updates, type FakeCall, type FakeTelegram } from '../helpers/fake-telegram.js';
import { createGitRepo, type GitRepo } from '../helpers/git-repo.js';
import { taskFile, waitUntil } from '../intake/watcher-harness.js';

/**
 * `tandem watch` and `tandem bot` in-process, as main.ts will run them: bad input exits 2 naming
 * the field; `watch --once` runs a folder against a real repository with the mediator on a fake
 * Ollama; `bot --watch` serves Telegram (a fake Bot API) from the same runtime as the folder.
 */

interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const SCRIPT = `defaults:
  planner: [ { respond: { task_id: X, steps: [ { id: S1, type: implementation, description: Write the note } ] } } ]
  plan-reviewer: [ { respond: { status: approved } } ]
  implementer: [ { edits: [ { path: note.txt, content: "done\\n" } ], respond: { explanation: wrote the note, confidence: 0.9 } } ]
  code-reviewer: [ { respond: { status: approved } } ]
`;
const CONFIG = 'gate:\n  checks:\n    - name: ok\n      command: "true"\n      timeout_ms: 30000\n';

const summaryAnswer = (request: FakeOllamaRequest): { content: string } => {
  const prompt = JSON.stringify(request.body['messages']);
  const id = /Task: (\w+)/.exec(prompt)?.[1] ?? '?';
  return { content: JSON.stringify({ status: 'SUCCESS', accomplished: `The note of ${id} is written.`, key_points: [], next_steps: [] }) };
};

describe('tandem watch / bot (in-process CLI)', () => {
  let work: string;
  let inbox: string;
  let repo: GitRepo;
  let ollama: FakeOllama | undefined;
  let telegram: FakeTelegram | undefined;

  beforeEach(async () => {
    work = await realpath(await mkdtemp(join(tmpdir(), 'tandem-watch-cli-')));
    inbox = join(work, 'inbox');
    await mkdir(inbox);
    repo = await createGitRepo({ 'README.md': '# project\n' });
    await writeFile(join(work, 'script.yaml'), SCRIPT);
    await writeFile(join(work, 'tandem.config.yaml'), CONFIG);
  });

  afterEach(async () => {
    await ollama?.close();
    await telegram?.close();
    ollama = undefined;
    telegram = undefined;
    await repo.cleanup();
    await rm(work, { recursive: true, force: true });
  });

  function cli(
    register: RegisterCommand,
    args: readonly string[],
    options: { env?: Record<string, string>; signal?: AbortSignal } = {},
  ): { result: Promise<CliResult>; output: () => string } {
    let stdout = '';
    let stderr = '';
    const io = {
      cwd: work,
      env: options.env ?? {},
      stdout: { write: (text: string) => void (stdout += text), isTTY: false },
      stderr: { write: (text: string) => void (stderr += text), isTTY: false },
      signal: options.signal ?? new AbortController().signal,
    };
    let code = 0;
    const program = new Command('tandem').exitOverride();
    register(program, io, (c) => (code = c));
    const result = program.parseAsync([...args], { from: 'user' }).then(() => ({ code, stdout, stderr }));
    return { result, output: () => stdout + stderr };
  }

  const runArgs = (): string[] => ['--repo', repo.dir, '--runner', 'scripted', '--script', 'script.yaml', '--log-level', 'error'];

  it('refuses a folder that does not exist, naming it', async () => {
    const { result } = cli(registerWatchCommand, ['watch', 'nowhere', ...runArgs()]);
    expect(await result).toEqual({
      code: 2,
      stdout: '',
      stderr: `tandem: a problem in the input; nothing was started:\n  ${join(work, 'nowhere')}: no such folder; create it first\n`,
    });
  });

  it('refuses to start the bot without a token or with a bad chat id, naming each field', async () => {
    const { result } = cli(registerBotCommand, ['bot', ...runArgs(), '--allow-chat', '42,abc']);
    const { code, stderr } = await result;
    expect(code).toBe(2);
    expect(stderr).toBe(
      [
        'tandem: 2 problems in the input; nothing was started:',
        '  environment: TELEGRAM_BOT_TOKEN: set it to the token @BotFather gave your bot',
        '  command line: --allow-chat: "abc" is not a chat id (a whole number, negative for groups)',
        '',
      ].join('\n'),
    );
    expect(existsSync(join(work, '.tandem'))).toBe(false);
  });

  it('watch --once runs the folder across repositories and exits, with summaries from the local model', async () => {
    ollama = await startFakeOllama({ models: ['llama3.1:8b'] });
    ollama.reply(summaryAnswer);
    const other = await createGitRepo({ 'README.md': '# other\n' });
    try {
      await writeFile(join(inbox, 'one.task.md'), taskFile('ONE'));
      // A task may name its own repository; the rest run in --repo.
      await writeFile(join(inbox, 'two.task.md'), taskFile('TWO', 'Write the note in the other repository.', { repo: other.dir, priority: 'high' }));
      await writeFile(join(inbox, 'bad.task.md'), '# no front matter\n');
      const { result } = cli(registerWatchCommand, ['watch', 'inbox', ...runArgs(), '--once', '--settle-ms', '100', '--ollama-host', ollama.url]);
      const { code, stdout } = await result;
      // The rejected file makes the run count as failed work.
      expect(code).toBe(1);
      expect(stdout).toContain(`mediator: llama3.1:8b at ${ollama.url}\n`);
      expect(stdout).toContain(`watching ${inbox}: drop *.task.md or tasks.yaml files there`);
      expect(stdout.endsWith('\nwatch: 3 files claimed, 1 rejected; tasks: 2 DONE\n')).toBe(true);
      expect(await other.git('log', '--format=%s', 'main..tandem/TWO')).toBe('S1: Write the note');
      expect(await repo.git('branch', '--list', 'tandem/TWO')).toBe('');
    } finally {
      await other.cleanup();
    }
    expect((await readdir(join(inbox, 'processed'))).sort()).toEqual(['one.task.md', 'two.task.md']);
    expect((await readdir(join(inbox, 'rejected'))).sort()).toEqual(['bad.task.md', 'bad.task.md.error.txt']);
    expect(await readFile(join(inbox, 'rejected', 'bad.task.md.error.txt'), 'utf8')).toContain('bad.task.md:1: missing YAML front matter');
    expect(await readFile(join(inbox, 'summaries', 'ONE.md'), 'utf8')).toBe(
      `SUCCESS: The note of ONE is written.\n\n(summary by llama3.1:8b at ${ollama.url}, checked against the task record)\n`,
    );
    const result_md = await readFile(join(inbox, 'results', 'ONE.md'), 'utf8');
    expect(result_md).toContain('| State | DONE |');
    expect(result_md).toContain(' note.txt | 1 +\n 1 file changed, 1 insertion(+)');
    expect(result_md).toContain('- S1, attempt 1: passed');
    expect(await repo.git('log', '--format=%s', 'main..tandem/ONE')).toBe('S1: Write the note');
    // The state dir sits in the work folder, so the repository stays clean.
    expect(await repo.git('status', '--porcelain')).toBe('');
  });

  it('watch --once without a reachable Ollama: says so, writes template summaries, and reports a failed task with why', async () => {
    // A branch checked out in another worktree cannot get the task's worktree: FAIL1 fails at prepare.
    const elsewhere = join(work, 'elsewhere');
    await repo.git('worktree', 'add', '-q', '-b', 'tandem/FAIL1', elsewhere);
    await writeFile(join(inbox, 'one.task.md'), taskFile('ONE'));
    await writeFile(join(inbox, 'fail.task.md'), taskFile('FAIL1'));
    const closed = 'http://127.0.0.1:9';
    const { result } = cli(registerWatchCommand, ['watch', 'inbox', ...runArgs(), '--once', '--settle-ms', '100', '--ollama-host', closed]);
    const { code, stdout } = await result;
    expect(code, stdout).toBe(1);
    expect(stdout).toMatch(/\nmediator: [^\n]*127\.0\.0\.1:9[^\n]*; until it is, summaries come from a template and free-form requests are refused\n/);
    expect(
      stdout.endsWith('\nwatch: 2 files claimed, 0 rejected; tasks: 1 DONE, 1 FAILED\n') ||
        stdout.endsWith('\nwatch: 2 files claimed, 0 rejected; tasks: 1 FAILED, 1 DONE\n'),
    ).toBe(true);

    const done = await readFile(join(inbox, 'results', 'ONE.md'), 'utf8');
    expect(done).toContain('| Cost | $0.00 |');
    expect(done).toMatch(/\| Time \| \d+(\.\d+)?(ms|s|m) \|/);
    const sha = await repo.git('rev-parse', 'tandem/ONE');
    expect(done).toContain(`## Commits\n\n- ${sha.slice(0, 10)} S1: Write the note\n`);
    expect(await readFile(join(inbox, 'summaries', 'ONE.md'), 'utf8')).toMatch(
      /^SUCCESS: ONE is done: note ONE\n[\s\S]*\(summary from the task record; [^)]*\)\n$/,
    );

    const failed = await readFile(join(inbox, 'results', 'FAIL1.md'), 'utf8');
    expect(failed).toContain('| State | FAILED |');
    expect(failed).toMatch(/## Why it failed\n\ncannot prepare the workspace: [^\n]*tandem\/FAIL1/);
    expect(await readFile(join(inbox, 'summaries', 'FAIL1.md'), 'utf8')).toMatch(/^FAILED: FAIL1 failed: cannot prepare the workspace/);
    expect((await readdir(join(inbox, 'processed'))).sort()).toEqual(['fail.task.md', 'one.task.md']);
  });

  it('bot --watch serves Telegram from the runtime that runs the folder', { timeout: 60_000 }, async () => {
    telegram = await startFakeTelegram();
    const stop = new AbortController();
    const { result, output } = cli(
      registerBotCommand,
      ['bot', ...runArgs(), '--watch', 'inbox', '--settle-ms', '100', '--no-mediator', '--allow-chat', '111', '--telegram-api', telegram.apiRoot],
      {
        env: { TELEGRAM_BOT_TOKEN: telegram.token },
        signal: stop.signal,
      },
    );
    await waitUntil(`the bot to start (output: ${output()})`, () => Promise.resolve(output().includes('watching ')), 20_000);
    expect(output()).toContain('telegram: serving chat 111');
    await writeFile(join(inbox, 'tg.task.md'), taskFile('TG1'));
    const [notice] = await telegram.waitFor('sendMessage', 1, (c: FakeCall) => String(c.payload['text']).startsWith('✅ TG1 DONE'), 30_000);
    expect(notice?.payload['chat_id']).toBe(111);
    expect(String(notice?.payload['text'])).toContain('(summary from the task record; no local model configured)');
    await waitUntil('the result file', () => Promise.resolve(existsSync(join(inbox, 'results', 'TG1.md'))), 10_000);
    expect(telegram.sent('setMyCommands')).toHaveLength(1);
    // A task created in Telegram is reported in the folder too.
    telegram.push(updates.text(111, '/task ---\nid: TG2\n---\n# Task: from the chat\n\n**Prompt:**\nWrite the note from the chat.', { username: 'ana' }));
    await waitUntil("the chat task's result file", () => Promise.resolve(existsSync(join(inbox, 'results', 'TG2.md'))), 20_000);
    expect(await readFile(join(inbox, 'results', 'TG2.md'), 'utf8')).toContain('| Source | telegram (@ana) |');
    expect(existsSync(join(inbox, 'logs', 'TG2.jsonl'))).toBe(true);
    stop.abort();
    // Stopped like `tandem run`: interrupted, with the hint.
    const stopped = await result;
    expect(stopped.code).toBe(130);
    expect(stopped.stderr).toContain('stopping: finishing 0 calls (Ctrl-C again to stop now); `tandem resume` continues');
    expect(stopped.stderr).toContain('tandem: interrupted; every task stopped where it stood.');
  });
});
