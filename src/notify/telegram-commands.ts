import type { Bot } from 'grammy';
import { InlineKeyboard } from 'grammy';
import type { ReviewDecision } from '../model/task-events.js';
import { InputError, errorMessage } from '../platform/errors.js';
import type { Logger } from '../telemetry/logger.js';
import { Action, type ReviewButtons } from './review-buttons.js';
import type { TaskDesk } from './task-desk.js';
import { HELP, REFUSAL, clipMessage, createdText, reviewText, statusDetail, statusLine } from './telegram-text.js';

/**
 * What the bot answers: the allow-list in front of everything, then /task, /status, /review (with
 * the decision buttons), /cancel, and feedback typed after pressing 💬 Feedback.
 */

const FEEDBACK_TTL_MS = 15 * 60_000;
const MAX_LISTED = 15;
const MAX_REVIEWS = 10;

interface TelegramCommandsOptions {
  readonly desk: TaskDesk;
  readonly logger: Logger;
  readonly allowed: ReadonlySet<number>;
  readonly buttons: ReviewButtons;
  /** Filled by /task: the chat that created a task gets its plan (see telegram-notices.ts). */
  readonly creators: Map<string, number>;
  readonly now: () => number;
  readonly scrub: (text: string) => string;
  readonly inBackground: (work: () => Promise<void>) => void;
}

function inputMessage(error: unknown): string {
  if (error instanceof InputError) return error.issues.map((i) => i.message).join('; ');
  return errorMessage(error);
}

/** Installs the bot's middleware and handlers, in the order they must run. */
export function registerTelegramCommands(bot: Bot, options: TelegramCommandsOptions): void {
  const { desk, logger, allowed, buttons, creators, now, scrub, inBackground } = options;
  const pendingFeedback = new Map<number, { taskId: string; at: number }>();

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
    for (const record of waiting.slice(0, MAX_REVIEWS)) await ctx.reply(reviewText(record), { reply_markup: buttons.keyboard(record) });
    if (waiting.length > MAX_REVIEWS) await ctx.reply(`…and ${waiting.length - MAX_REVIEWS} more; decide these first.`);
  });

  bot.on('callback_query:data', async (ctx) => {
    const pressed = buttons.parse(ctx.callbackQuery.data);
    if (!pressed) {
      await ctx.answerCallbackQuery({ text: 'This button has expired; use /review again.' });
      return;
    }
    const { action, taskId } = pressed;
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
}
