import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createMediator } from '../../src/mediator/mediator.js';
import { createOllamaMediatorModel } from '../../src/mediator/mediator-model.js';
import { createScriptedRunner, type ScriptedRunner } from '../../src/runners/scripted.js';
import type { ScriptInput } from '../../src/runners/scripted-script.js';
import { createMemoryBus } from '../../src/bus/memory-bus.js';
import { createMemoryStore } from '../../src/store/memory-store.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { createTaskDesk } from '../../src/notify/task-desk.js';
import { createTelegramBot, type TelegramBot } from '../../src/notify/telegram.js';
import { HELP, REFUSAL } from '../../src/notify/telegram-text.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { type Runtime } from '../../src/runtime/runtime-api.js';
import type { LoadedTask } from '../../src/tasks/load-tasks.js';
import { createTaskSummaries } from '../../src/intake/task-summary.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { fakeWorkspace, passingGate } from '../helpers/fake-ports.js';
import { startFakeOllama, type FakeOllama, type FakeOllamaRequest } from '../helpers/fake-ollama.js';
import { fakeBotInfo, startFakeTelegram, updates, type FakeCall, type FakeTelegram } from '../helpers/fake-telegram.js';
import { approveAll } from '../intake/watcher-harness.js';

/**
 * The bot against a fake Telegram Bot API server (grammY's apiRoot): real updates go through long
 * polling (getUpdates), and the test asserts the API calls the bot makes. Behind the bot: a real
 * runtime with the scripted runner, the mediator against a fake Ollama.
 */

const OWNER = 111;
const STRANGER = 999;
const MODEL = 'llama3.1:8b';

interface Setup {
  readonly tg: FakeTelegram;
  readonly ollama: FakeOllama | undefined;
  readonly runtime: Runtime;
  readonly runner: ScriptedRunner;
  readonly bot: TelegramBot;
  readonly logs: string[];
  readonly ollamaUrl: string;
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const goodTask = {
  title: 'Timeout handling',
  goal: 'Fix the timeout handling in db.py and add tests for it',
  type: 'fix',
  risk: 'medium',
  area: 'core',
  priority: 'high',
  target_files: ['db.py'],
  context_files: [],
  success_criteria: ['a test covers a connection timeout'],
  constraints: [],
};

const isSummaryCall = (request: FakeOllamaRequest): boolean => JSON.stringify(request.body['format'] ?? '').includes('accomplished');

/** The fake workspace, except that preparing the worktree of `taskId` fails (the task then FAILS). */
function failingFor(taskId: string | undefined) {
  const workspace = fakeWorkspace();
  const ensure = workspace.ensure.bind(workspace);
  workspace.ensure = (input) => (input.taskId === taskId ? Promise.reject(new Error('git worktree add: disk full (simulated)')) : ensure(input));
  return workspace;
}

function taskMd(id: string): string {
  return `/task ---\nid: ${id}\n---\n# Task: note ${id}\n\n**Prompt:**\nWrite the note for ${id}.`;
}

describe('telegram bot', () => {
  let setup: Setup | undefined;
  let repo: string | undefined;

  afterEach(async () => {
    if (setup) {
      await setup.bot.stop();
      await setup.runtime.close();
      await setup.tg.close();
      await setup.ollama?.close();
    }
    if (repo) await rm(repo, { recursive: true, force: true });
    setup = undefined;
    repo = undefined;
  });

  async function start(
    options: { script?: ScriptInput; ollama?: (request: FakeOllamaRequest) => { content: string }; failPrepare?: string } = {},
  ): Promise<Setup> {
    repo = await realpath(await mkdtemp(join(tmpdir(), 'tandem-bot-')));
    await mkdir(join(repo, 'tests'));
    await writeFile(join(repo, 'db.py'), 'def connect():\n    pass\n');
    const tg = await startFakeTelegram();
    const ollama = options.ollama ? await startFakeOllama({ models: [MODEL] }) : undefined;
    if (ollama && options.ollama) ollama.reply(options.ollama);
    const ollamaUrl = ollama?.url ?? `http://127.0.0.1:${await closedPort()}`;
    const logs: string[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (line: string) => void logs.push(line) } });
    const runner = createScriptedRunner({ script: options.script ?? approveAll });
    const runtime = createRuntime({
      config: ConfigSchema.parse({ runner_override: 'scripted' }),
      runners: new Map([['scripted', runner]]),
      store: createMemoryStore(),
      bus: createMemoryBus(),
      gate: passingGate(),
      workspace: failingFor(options.failPrepare),
    });
    const mediator = createMediator({
      model: createOllamaMediatorModel({ host: ollamaUrl, model: MODEL, timeoutMs: 5_000 }),
      listFiles: () => Promise.resolve(['db.py']),
    });
    const root = repo;
    const desk = createTaskDesk({
      runtime,
      mediator,
      repo: root,
      resolve: (tasks: readonly LoadedTask[]) => Promise.resolve(tasks.map((t) => ({ spec: t.spec, repo: root, base: 'main', baseCommit: 'b'.repeat(40) }))),
      summaries: createTaskSummaries({ mediator, logger }),
      logger,
      newId: () => 'tg-1',
    });
    const bot = createTelegramBot({
      token: tg.token,
      allowChats: [OWNER],
      desk,
      logger,
      apiRoot: tg.apiRoot,
      botInfo: fakeBotInfo,
      rateLimit: { perChatIntervalMs: 20 },
      pollTimeoutSeconds: 2,
    });
    await bot.start();
    setup = { tg, ollama, runtime, runner, bot, logs, ollamaUrl };
    return setup;
  }

  const to = (chat: number) => (call: FakeCall) => call.payload['chat_id'] === chat;
  const texts = (s: Setup, chat: number): string[] =>
    s.tg
      .sent('sendMessage')
      .filter(to(chat))
      .map((c) => String(c.payload['text']));
  const containing = (text: string) => (call: FakeCall) => String(call.payload['text']).includes(text);

  it('serves only allow-listed chats: anyone else gets a refusal, nothing more, and is logged', async () => {
    const s = await start();
    s.tg.push(updates.text(STRANGER, '/task delete everything', { username: 'mallory' }));
    s.tg.push(updates.callback(STRANGER, 'ap:T1', { username: 'mallory' }));
    await s.tg.waitFor('answerCallbackQuery');
    s.tg.push(updates.text(OWNER, '/status'));
    await s.tg.waitFor('sendMessage', 1, to(OWNER));
    expect(texts(s, STRANGER)).toEqual([REFUSAL]);
    expect(s.tg.sent('answerCallbackQuery').map((c) => c.payload['text'])).toEqual([REFUSAL]);
    expect(texts(s, OWNER)).toEqual(['No tasks yet.']);
    expect(await s.runtime.list()).toEqual([]);
    const refusals = s.logs
      .map((l) => JSON.parse(l) as { msg: string; chat?: number; username?: string; text?: string })
      .filter((l) => l.msg === 'refused a Telegram update from a chat that is not allow-listed');
    expect(refusals.map((l) => [l.chat, l.username, l.text])).toEqual([
      [STRANGER, 'mallory', '/task delete everything'],
      [STRANGER, 'mallory', undefined],
    ]);
  });

  it('/task turns a request into a task through the mediator, sends its plan, then a notice with the summary', async () => {
    const s = await start({
      ollama: (request) =>
        isSummaryCall(request)
          ? {
              content: JSON.stringify({
                status: 'SUCCESS',
                accomplished: 'Timeouts in db.py are handled and tested.',
                key_points: [],
                next_steps: ['merge tandem/tg-1'],
              }),
            }
          : { content: JSON.stringify(goodTask) },
    });
    s.tg.push(updates.text(OWNER, '/task fix the timeout handling in db.py and add tests', { username: 'ana' }));
    await s.tg.waitFor('sendMessage', 1, containing('tg-1 DONE'));
    expect(texts(s, OWNER)).toEqual([
      'Working out the task with the local model…',
      [
        '🆕 Task tg-1 queued (high priority), as understood by the local model:',
        '',
        'Timeout handling\nFix the timeout handling in db.py and add tests for it',
        '',
        'Files: db.py',
        '',
        'Done when:',
        '- a test covers a connection timeout',
        '',
        'I will send the plan once it is reviewed, and a notice when the task ends or needs you.',
      ].join('\n'),
      '📋 Plan for tg-1 (1 step):\n1. S1 (implementation): Write the note',
      `✅ tg-1 DONE\n\nSUCCESS: Timeouts in db.py are handled and tested.\n\nNext steps:\n- merge tandem/tg-1\n\n(summary by ${MODEL} at ${s.ollamaUrl}, checked against the task record)`,
    ]);
    const [record] = await s.runtime.list();
    expect(record?.spec.context).toBe('Original request from @ana: fix the timeout handling in db.py and add tests');
    expect(s.ollama?.chats().map(isSummaryCall)).toEqual([false, true]);
  });

  it('says so when no local model is reachable, while a structured task still works', async () => {
    const s = await start();
    s.tg.push(updates.text(OWNER, '/task fix the timeout handling in db.py'));
    await s.tg.waitFor('sendMessage', 1, containing('cannot turn free-form text'));
    expect(texts(s, OWNER)[1]).toBe(
      `I cannot turn free-form text into a task right now: the local model (${MODEL} at ${s.ollamaUrl}) is not available: Ollama is not reachable at ${s.ollamaUrl} (ECONNREFUSED); is \`ollama serve\` running?.\n\nStructured tasks still work: send /task followed by a whole *.task.md (starting with ---), or drop the file into the watched folder.`,
    );
    s.tg.push(updates.text(OWNER, taskMd('S1')));
    await s.tg.waitFor('sendMessage', 1, containing('S1 DONE'));
    const all = texts(s, OWNER);
    expect(all[2]).toBe('Reading your task file…');
    expect(all[3]?.split('\n')[0]).toBe('🆕 Task S1 queued (medium priority):');
    expect(all.at(-1)).toContain('(summary from the task record; the local model is not reachable)');
  });

  it('refuses a task the mediator made that drops the request', async () => {
    const s = await start({
      ollama: () => ({
        content: JSON.stringify({ ...goodTask, title: 'README', goal: 'Polish the README', target_files: [], success_criteria: ['reads well'] }),
      }),
    });
    s.tg.push(updates.text(OWNER, '/task fix the timeout handling in db.py and add tests'));
    await s.tg.waitFor('sendMessage', 1, containing('did not trust'));
    expect(texts(s, OWNER)[1]).toBe(
      "I did not trust the task the local model made of your request, so nothing was started:\nthe local model's task was rejected after 3 tries: the request names `db.py` but the task does not (neither in target_files, context_files nor the goal); the goal is not the request: it keeps 0 of its 3 key terms (missing: timeout, handling, tests)\n\nPlease rephrase it, naming the files and what should change.",
    );
    expect(await s.runtime.list()).toEqual([]);
  });

  it('refuses a structured task that names another repository', async () => {
    const s = await start();
    s.tg.push(updates.text(OWNER, '/task ---\nid: R1\nrepo: /etc\n---\n# Task: x\n\n**Prompt:**\nWrite it.'));
    await s.tg.waitFor('sendMessage', 1, containing('not valid'));
    expect(texts(s, OWNER)[1]).toBe(
      `That task is not valid, so nothing was started:\ntasks from telegram run in ${repo ?? ''}; remove \`repo:\` from the task`,
    );
    expect(await s.runtime.list()).toEqual([]);
  });

  it('/status shows state, step, attempt and cost, for all tasks or one', async () => {
    const s = await start();
    s.tg.push(updates.text(OWNER, taskMd('S2')));
    await s.tg.waitFor('sendMessage', 1, containing('S2 DONE'));
    s.tg.push(updates.text(OWNER, '/status'));
    s.tg.push(updates.text(OWNER, '/status S2'));
    s.tg.push(updates.text(OWNER, '/status nope'));
    await s.tg.waitFor('sendMessage', 1, containing('No task nope.'));
    const [list, one, none] = texts(s, OWNER).slice(-3);
    expect(list).toBe('✅ S2 · DONE · 1/1 steps · $0.00');
    expect(one).toMatch(/^✅ S2: DONE\nnote S2\nStep: 1\/1 steps\nAttempt: 1\nCost: \$0\.00 · time \S+\nBranch: tandem\/S2 \(1 commit\)$/);
    expect(none).toBe('No task nope.');
  });

  it('announces a task that waits with review buttons; feedback asks for the text and the task goes on with it', async () => {
    const s = await start({
      script: {
        defaults: approveAll.defaults,
        tasks: { H1: { 'plan-reviewer': [{ respond: { status: 'rejected', review: { concerns: ['no test step'] } } }, { respond: { status: 'approved' } }] } },
      },
    });
    s.tg.push(updates.text(OWNER, taskMd('H1')));
    const [waiting] = await s.tg.waitFor('sendMessage', 1, containing('H1 needs you'));
    const keyboard = {
      inline_keyboard: [
        [
          { text: '✅ Approve', callback_data: 'ap:H1' },
          { text: '💬 Feedback', callback_data: 'fb:H1' },
        ],
        [{ text: '⏹ Abort', callback_data: 'ab:H1' }],
      ],
    };
    expect(waiting?.payload['reply_markup']).toEqual(keyboard);
    s.tg.push(updates.text(OWNER, '/review'));
    const [review] = await s.tg.waitFor('sendMessage', 1, containing('H1 waits for you'));
    expect(review?.payload['reply_markup']).toEqual(keyboard);

    s.tg.push(updates.callback(OWNER, 'sk:H1'));
    await s.tg.waitFor('answerCallbackQuery');
    expect(s.tg.sent('answerCallbackQuery')[0]?.payload['text']).toBe(
      'task H1 waits on its plan; there is no step to skip (use --approve, --feedback or --abort)',
    );

    s.tg.push(updates.callback(OWNER, 'fb:H1'));
    const [ask] = await s.tg.waitFor('sendMessage', 1, containing('Send your feedback for H1'));
    expect(ask?.payload).toMatchObject({ text: 'Send your feedback for H1 as your next message (or /cancel).', reply_markup: { force_reply: true } });
    s.tg.push(updates.text(OWNER, 'Add a step that runs the tests'));
    await s.tg.waitFor('sendMessage', 1, containing('H1 DONE'));
    expect(texts(s, OWNER)).toContain('Feedback sent to H1; it tries again with it.');
    const plannerPrompts = s.runner
      .calls()
      .filter((c) => c.taskId === 'H1' && c.role === 'planner')
      .map((c) => c.prompt);
    expect(plannerPrompts).toHaveLength(2);
    expect(plannerPrompts[1]).toContain('Add a step that runs the tests');
  });

  it('approve and abort buttons decide for waiting tasks', async () => {
    const reject = [{ respond: { status: 'rejected' } }, { respond: { status: 'approved' } }];
    const s = await start({ script: { defaults: approveAll.defaults, tasks: { A1: { 'plan-reviewer': reject }, A2: { 'plan-reviewer': reject } } } });
    s.tg.push(updates.text(OWNER, taskMd('A1')));
    s.tg.push(updates.text(OWNER, taskMd('A2')));
    await s.tg.waitFor('sendMessage', 2, containing('needs you'));
    s.tg.push(updates.callback(OWNER, 'ap:A1', { username: 'ana' }));
    s.tg.push(updates.callback(OWNER, 'ab:A2', { username: 'ana' }));
    await s.tg.waitFor('sendMessage', 1, containing('A1 DONE'));
    await s.tg.waitFor('sendMessage', 1, containing('A1: approved by @ana.'));
    await s.tg.waitFor('sendMessage', 1, containing('A2 ABORTED'));
    await s.tg.waitFor('sendMessage', 1, containing('A2: aborted by @ana.'));
    expect(s.tg.sent('answerCallbackQuery').map((c) => c.payload['text'])).toEqual(['A1: approved', 'A2: aborted']);
    expect(s.tg.sent('editMessageReplyMarkup')).toHaveLength(2);
    // One notice per wait: the abort's restart of A2 announced its waiting state again, which is no news.
    const reason = 'needs you (plan, plan_rejected): the plan reviewer rejected the plan: The plan reviewer answered "rejected".';
    expect(
      texts(s, OWNER)
        .filter((t) => t.startsWith('✋'))
        .map((t) => t.split('\n')[0])
        .sort(),
    ).toEqual([`✋ A1 ${reason}`, `✋ A2 ${reason}`]);
    expect((await s.runtime.get('A2'))?.failure).toBe('aborted from Telegram by @ana');
  });

  it('offers Skip step for a step that waits; skipping drops it and the task goes on to DONE', async () => {
    const s = await start({
      script: {
        defaults: approveAll.defaults,
        tasks: {
          K1: {
            planner: [
              {
                respond: {
                  task_id: 'K1',
                  steps: [
                    { id: 'S1', type: 'implementation', description: 'one' },
                    { id: 'S2', type: 'implementation', description: 'two' },
                  ],
                },
              },
            ],
            steps: {
              S1: { 'code-reviewer': [{ respond: { status: 'rejected', review: { issues: [{ severity: 'high', description: 'wrong approach' }] } } }] },
            },
          },
        },
      },
    });
    s.tg.push(updates.text(OWNER, taskMd('K1')));
    const [waiting] = await s.tg.waitFor('sendMessage', 1, containing('K1 needs you'));
    expect(String(waiting?.payload['text'])).toContain('(step,');
    expect(waiting?.payload['reply_markup']).toEqual({
      inline_keyboard: [
        [
          { text: '✅ Approve', callback_data: 'ap:K1' },
          { text: '💬 Feedback', callback_data: 'fb:K1' },
        ],
        [
          { text: '⏭ Skip step', callback_data: 'sk:K1' },
          { text: '⏹ Abort', callback_data: 'ab:K1' },
        ],
      ],
    });
    s.tg.push(updates.callback(OWNER, 'sk:K1', { username: 'ana' }));
    await s.tg.waitFor('sendMessage', 1, containing('K1 DONE'));
    expect(s.tg.sent('answerCallbackQuery').map((c) => c.payload['text'])).toEqual(['K1: step skipped']);
    const record = await s.runtime.get('K1');
    expect(record?.commits.map((c) => c.stepId)).toEqual(['S2']);
  });

  it('notifies a FAILED task with why it failed', async () => {
    const s = await start({ failPrepare: 'F1' });
    s.tg.push(updates.text(OWNER, taskMd('F1')));
    const [notice] = await s.tg.waitFor('sendMessage', 1, containing('F1 FAILED'));
    expect(String(notice?.payload['text'])).toMatch(/^❌ F1 FAILED/);
    expect(String(notice?.payload['text'])).toContain('cannot prepare the workspace: git worktree add: disk full (simulated)');
    expect(notice?.payload['reply_markup']).toBeUndefined();
  });

  it('/status while a step runs shows its state, step and attempt', async () => {
    const s = await start({
      script: { defaults: { ...approveAll.defaults, implementer: [{ delay_ms: 1_500, respond: { explanation: 'slow', confidence: 0.9 } }] } },
    });
    s.tg.push(updates.text(OWNER, taskMd('R1')));
    for (let i = 0; i < 200 && (await s.runtime.get('R1'))?.state !== 'IMPLEMENTING'; i++) await new Promise((r) => setTimeout(r, 10));
    s.tg.push(updates.text(OWNER, '/status R1'));
    const [status] = await s.tg.waitFor('sendMessage', 1, containing('R1: IMPLEMENTING'));
    expect(String(status?.payload['text'])).toMatch(
      /^• R1: IMPLEMENTING\nnote R1\nStep: step S1 \(1\/1\)\nAttempt: 1\nCost: \$0\.00 · time \S+\nBranch: tandem\/R1 \(0 commits\)$/,
    );
    await s.tg.waitFor('sendMessage', 1, containing('R1 DONE'));
  });

  it('waits out a 429 for its retry_after and sends the message again', async () => {
    const s = await start();
    s.tg.tooManyRequests('sendMessage', 1, 1);
    s.tg.push(updates.text(OWNER, '/help'));
    await s.tg.waitFor('sendMessage', 1, to(OWNER));
    const attempts = s.tg.calls.filter((c) => c.method === 'sendMessage');
    expect(attempts.map((c) => [c.ok, c.payload['text']])).toEqual([
      [false, HELP],
      [true, HELP],
    ]);
    expect((attempts[1]?.at ?? 0) - (attempts[0]?.at ?? 0)).toBeGreaterThanOrEqual(950);
    expect(s.logs.some((l) => l.includes('Telegram asked to slow down (429)'))).toBe(true);
  });
});
