import { Bot, InlineKeyboard } from 'grammy';
import type { Update, UserFromGetMe } from 'grammy/types';
import type { Subscription } from '../bus/bus.js';
import type { ReviewDecision, TaskEvent } from '../model/task-events.js';
import { InputError, errorMessage } from '../platform/errors.js';
import type { TaskRecord } from '../model/task-record.js';
import type { Logger } from '../telemetry/logger.js';
import { createRateLimiter, type RateLimitOptions } from './rate-limit.js';
import type { TaskDesk } from './task-desk.js';
import { HELP, REFUSAL, clipMessage, createdText, noticeText, planText, reviewText, statusDetail, statusLine } from './telegram-text.js';

/**
 * `tandem bot` (seed 003, DESIGN §11): create tasks (/task), follow them (/status), decide for the
 * ones that wait (/review, with buttons), and get a notice with a summary when a task ends or
 * needs a person. Only allow-listed chats are served; every other update gets one refusal and is
 * logged. Outgoing calls go through the rate limiter, which also waits out 429s.
 */

export interface TelegramBotOptions {
  readonly token: string;
  /** Chat ids served (a private chat's id is the person's user id; groups are negative). Notices go to all of them. */
  readonly allowChats: readonly number[];
  readonly desk: TaskDesk;
  readonly logger: Logger;
  /** Bot API server, e.g. a local one or a test's fake; default https://api.telegram.org. */
  readonly apiRoot?: string | undefined;
  /** Skips `getMe` at start (tests, or a known bot). */
  readonly botInfo?: UserFromGetMe | undefined;
  readonly rateLimit?: RateLimitOptions | undefined;
  /** Long-polling timeout of getUpdates. */
  readonly pollTimeoutSeconds?: number | undefined;
  readonly now?: () => number;
}

export interface TelegramBot {
  readonly bot: Bot;
  /** Starts long polling; resolves once the bot receives updates. */
  start(): Promise<void>;
  /** Stops polling and waits for the work updates started (task creation, notices). */
  stop(): Promise<void>;
  /** Runs one update through the bot (webhooks, tests). */
  handleUpdate(update: Update): Promise<void>;
  /** Resolves when no notice or task creation is under way. */
  idle(): Promise<void>;
}

const Action = { approve: 'ap', feedback: 'fb', skip: 'sk', abort: 'ab' } as const;
type Action = (typeof Action)[keyof typeof Action];
const ACTIONS: ReadonlySet<string> = new Set(Object.values(Action));
/** Telegram's limit on callback_data. */
const MAX_CALLBACK_BYTES = 64;
const FEEDBACK_TTL_MS = 15 * 60_000;
const MAX_LISTED = 15;
const MAX_REVIEWS = 10;

export function createTelegramBot(options: TelegramBotOptions): TelegramBot {
  const { desk, logger, token } = options;
  const now = options.now ?? Date.now;
  const allowed = new Set(options.allowChats);
  const bot = new Bot(token, {
    ...(options.botInfo ? { botInfo: options.botInfo } : {}),
    client: { ...(options.apiRoot ? { apiRoot: options.apiRoot } : {}), timeoutSeconds: 60 },
  });
  bot.api.config.use(
    createRateLimiter({
      ...options.rateLimit,
      onRetry: (info) => {
        logger.warn(info, 'Telegram asked to slow down (429); retrying after retry_after');
        options.rateLimit?.onRetry?.(info);
      },
    }),
  );

  const background = new Set<Promise<unknown>>();
  const pendingFeedback = new Map<number, { taskId: string; at: number }>();
  /** Chats that created a task get its plan. */
  const creators = new Map<string, number>();
  const noticed = new Set<string>();
  const planSent = new Set<string>();
  const noticeChains = new Map<string, Promise<void>>();
  /** Callback data for task ids too long to fit in 64 bytes next to the action. */
  const longIds = new Map<string, string>();
  let polling: Promise<void> | undefined;

  /** The token is in every request URL; keep it out of logs. */
  const scrub = (text: string): string => text.split(token).join('[token]');

  function inBackground(work: () => Promise<void>): void {
    const promise = work().catch((error: unknown) => logger.warn({ error: scrub(errorMessage(error)) }, 'a Telegram action failed'));
    background.add(promise);
    void promise.finally(() => background.delete(promise));
  }

  function callbackData(action: Action, taskId: string): string {
    const plain = `${action}:${taskId}`;
    if (Buffer.byteLength(plain) <= MAX_CALLBACK_BYTES) return plain;
    const key = String(longIds.size + 1);
    longIds.set(key, taskId);
    return `${action}#${key}`;
  }

  function reviewKeyboard(record: TaskRecord): InlineKeyboard {
    const keyboard = new InlineKeyboard().text('✅ Approve', callbackData(Action.approve, record.id)).text('💬 Feedback', callbackData(Action.feedback, record.id)).row();
    if (record.waiting?.stage === 'step') keyboard.text('⏭ Skip step', callbackData(Action.skip, record.id));
    return keyboard.text('⏹ Abort', callbackData(Action.abort, record.id));
  }

  async function sendToAll(text: string, keyboard?: InlineKeyboard): Promise<void> {
    for (const chat of allowed) {
      await bot.api.sendMessage(chat, clipMessage(text), keyboard ? { reply_markup: keyboard } : {}).catch((error: unknown) => {
        logger.warn({ chat, error: scrub(errorMessage(error)) }, 'could not send a Telegram notice');
      });
    }
  }

  function inputMessage(error: unknown): string {
    if (error instanceof InputError) return error.issues.map((i) => i.message).join('; ');
    return errorMessage(error);
  }

  // Allow-list first: nothing below sees an update from another chat.
  bot.use(async (ctx, next) => {
    const chat = ctx.chat?.id;
    if (chat !== undefined && allowed.has(chat)) return next();
    logger.warn(
      { chat, user: ctx.from?.id, username: ctx.from?.username, update: ctx.update.update_id, text: ctx.message?.text?.slice(0, 80) },
      'refused a Telegram update from a chat that is not allow-listed',
    );
    if (ctx.callbackQuery) await ctx.answerCallbackQuery({ text: REFUSAL });
    else if (chat !== undefined && ctx.message) await ctx.reply(REFUSAL);
  });

  bot.command(['start', 'help'], (ctx) => ctx.reply(HELP));

  bot.command('cancel', async (ctx) => {
    const had = pendingFeedback.delete(ctx.chat.id);
    await ctx.reply(had ? 'Feedback cancelled.' : 'Nothing to cancel.');
  });

  bot.command('task', async (ctx) => {
    const text = ctx.match.trim();
    if (text === '') {
      await ctx.reply('Tell me what to do, e.g. /task fix the timeout handling in db.py and add tests');
      return;
    }
    const chat = ctx.chat.id;
    const by = ctx.from?.username ? `@${ctx.from.username}` : `telegram chat ${chat}`;
    await ctx.reply(text.startsWith('---') ? 'Reading your task file…' : 'Working out the task with the local model…');
    // The model may take a while; updates from other chats are not held up meanwhile.
    inBackground(async () => {
      const result = await desk.create(text, by).catch(async (error: unknown) => {
        await bot.api.sendMessage(chat, clipMessage(`Could not create the task: ${scrub(errorMessage(error))}`));
        throw error;
      });
      if (result.ok) {
        creators.set(result.spec.id, chat);
        await bot.api.sendMessage(chat, createdText(result.spec, result.via));
        return;
      }
      const reply =
        result.reason === 'unavailable'
          ? `I cannot turn free-form text into a task right now: ${result.message}.\n\nStructured tasks still work: send /task followed by a whole *.task.md (starting with ---), or drop the file into the watched folder.`
          : result.reason === 'rejected'
            ? `I did not trust the task the local model made of your request, so nothing was started:\n${result.message}\n\nPlease rephrase it, naming the files and what should change.`
            : `That task is not valid, so nothing was started:\n${result.message}`;
      await bot.api.sendMessage(chat, clipMessage(reply));
    });
  });

  bot.command('status', async (ctx) => {
    const id = ctx.match.trim();
    if (id !== '') {
      const record = await desk.get(id);
      await ctx.reply(record ? statusDetail(record, now()) : `No task ${id}.`);
      return;
    }
    const records = (await desk.list()).sort((a, b) => b.createdAt - a.createdAt).slice(0, MAX_LISTED);
    await ctx.reply(records.length === 0 ? 'No tasks yet.' : clipMessage(records.map(statusLine).join('\n')));
  });

  bot.command('review', async (ctx) => {
    const waiting = (await desk.list()).filter((r) => r.state === 'AWAITING_HUMAN_REVIEW');
    if (waiting.length === 0) {
      await ctx.reply('No task waits for you.');
      return;
    }
    for (const record of waiting.slice(0, MAX_REVIEWS)) await ctx.reply(reviewText(record), { reply_markup: reviewKeyboard(record) });
    if (waiting.length > MAX_REVIEWS) await ctx.reply(`…and ${waiting.length - MAX_REVIEWS} more; decide these first.`);
  });

  bot.on('callback_query:data', async (ctx) => {
    const match = /^([a-z]{2})([:#])(.+)$/.exec(ctx.callbackQuery.data);
    const action = match?.[1];
    const taskId = match?.[2] === '#' ? longIds.get(match[3] ?? '') : match?.[3];
    if (!action || !ACTIONS.has(action) || !taskId) {
      await ctx.answerCallbackQuery({ text: 'This button has expired; use /review again.' });
      return;
    }
    const who = ctx.from.username ? `@${ctx.from.username}` : `user ${ctx.from.id}`;
    if (action === Action.feedback) {
      const record = await desk.get(taskId);
      if (record?.state !== 'AWAITING_HUMAN_REVIEW') {
        await ctx.answerCallbackQuery({ text: `${taskId} does not wait for you (${record?.state ?? 'unknown task'}).` });
        return;
      }
      pendingFeedback.set(ctx.chat?.id ?? ctx.from.id, { taskId, at: now() });
      await ctx.answerCallbackQuery();
      await ctx.reply(`Send your feedback for ${taskId} as your next message (or /cancel).`, {
        reply_markup: { force_reply: true, input_field_placeholder: `feedback for ${taskId}` },
      });
      return;
    }
    try {
      if (action === Action.abort) await desk.abort(taskId, `aborted from Telegram by ${who}`);
      else await desk.decide(taskId, action === Action.approve ? { decision: 'approve' } : { decision: 'skip_step' });
    } catch (error) {
      await ctx.answerCallbackQuery({ text: clipMessage(inputMessage(error), 190) });
      return;
    }
    const done = action === Action.approve ? 'approved' : action === Action.skip ? 'step skipped' : 'aborted';
    logger.info({ task: taskId, decision: done, by: who }, 'a decision came from Telegram');
    await ctx.answerCallbackQuery({ text: `${taskId}: ${done}` });
    await ctx.editMessageReplyMarkup({ reply_markup: new InlineKeyboard() }).catch(() => undefined);
    await ctx.reply(`${taskId}: ${done} by ${who}.`);
  });

  bot.on('message:text', async (ctx) => {
    const chat = ctx.chat.id;
    const pending = pendingFeedback.get(chat);
    if (pending && now() - pending.at <= FEEDBACK_TTL_MS && !ctx.message.text.startsWith('/')) {
      pendingFeedback.delete(chat);
      const decision: ReviewDecision = { decision: 'feedback', text: ctx.message.text };
      try {
        await desk.decide(pending.taskId, decision);
      } catch (error) {
        await ctx.reply(`Could not send the feedback: ${inputMessage(error)}`);
        return;
      }
      logger.info({ task: pending.taskId, by: ctx.from.username ?? ctx.from.id }, 'feedback came from Telegram');
      await ctx.reply(`Feedback sent to ${pending.taskId}; it tries again with it.`);
      return;
    }
    await ctx.reply(ctx.message.text.startsWith('/') ? `Unknown command.\n\n${HELP}` : `To create a task, send /task followed by your request.\n\n${HELP}`);
  });

  bot.catch((error) => {
    logger.error({ error: scrub(errorMessage(error.error)), update: error.ctx.update.update_id }, 'a Telegram update failed');
  });

  function onEvent(event: TaskEvent): void {
    // PLANNED is passed through without a stop; the first state after it says the plan was approved.
    const planned = event.type === 'task.state' && (event.state === 'PLANNED' || event.state === 'IMPLEMENTING') && creators.has(event.taskId) && !planSent.has(event.taskId);
    if (planned) planSent.add(event.taskId);
    // A driver (re)started on a waiting task announces the state again, without a previous one: not news.
    const waiting = event.type === 'task.state' && event.state === 'AWAITING_HUMAN_REVIEW' && event.previous !== undefined && event.previous !== 'AWAITING_HUMAN_REVIEW';
    const finished = event.type === 'task.finished';
    if (!planned && !waiting && !finished) return;
    // One task's notices go out in the order of its events.
    const previous = noticeChains.get(event.taskId) ?? Promise.resolve();
    const next = previous
      .then(() => notice(event.taskId, planned))
      .catch((error: unknown) => logger.warn({ task: event.taskId, error: scrub(errorMessage(error)) }, 'could not send a Telegram notice'));
    noticeChains.set(event.taskId, next);
    inBackground(async () => {
      await next;
      if (noticeChains.get(event.taskId) === next) noticeChains.delete(event.taskId);
    });
  }

  async function notice(taskId: string, planned: boolean): Promise<void> {
    const record = await desk.get(taskId);
    if (!record) return;
    if (planned) {
      const text = planText(record);
      const chat = creators.get(record.id);
      if (text && chat !== undefined) await bot.api.sendMessage(chat, text);
      return;
    }
    if (record.state !== 'AWAITING_HUMAN_REVIEW' && record.state !== 'DONE' && record.state !== 'FAILED' && record.state !== 'ABORTED') return;
    const key = `${record.id}:${record.state}:${record.updatedAt}`;
    if (noticed.has(key)) return;
    noticed.add(key);
    const summary = await desk.summarize(record);
    await sendToAll(noticeText(record, summary), record.state === 'AWAITING_HUMAN_REVIEW' ? reviewKeyboard(record) : undefined);
    if (record.state !== 'AWAITING_HUMAN_REVIEW') {
      creators.delete(record.id);
      planSent.delete(record.id);
    }
  }

  const subscription: Subscription = desk.onEvent(onEvent);

  return {
    bot,

    async start() {
      await bot.api
        .setMyCommands([
          { command: 'task', description: 'create a task from a request' },
          { command: 'status', description: 'state, step, attempt and cost of tasks' },
          { command: 'review', description: 'tasks waiting for you' },
          { command: 'help', description: 'what this bot does' },
        ])
        .catch((error: unknown) => logger.warn({ error: scrub(errorMessage(error)) }, 'could not set the bot\'s command list'));
      await new Promise<void>((resolve, reject) => {
        polling = bot
          .start({ timeout: options.pollTimeoutSeconds ?? 30, onStart: () => resolve(), allowed_updates: ['message', 'callback_query'] })
          .catch((error: unknown) => {
            const message = scrub(errorMessage(error));
            logger.error({ error: message }, 'Telegram polling stopped');
            reject(new Error(`the Telegram bot stopped: ${message}`));
          });
      });
    },

    async stop() {
      subscription.unsubscribe();
      if (bot.isRunning()) await bot.stop().catch((error: unknown) => logger.warn({ error: scrub(errorMessage(error)) }, 'could not confirm the last Telegram update'));
      await polling;
      await Promise.allSettled([...background]);
    },

    async handleUpdate(update) {
      if (!bot.isInited()) await bot.init();
      await bot.handleUpdate(update);
    },

    async idle() {
      while (background.size > 0) await Promise.allSettled([...background]);
    },
  };
}
