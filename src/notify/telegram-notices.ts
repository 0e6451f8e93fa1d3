import type { Bot } from 'grammy';
import type { InlineKeyboard } from 'grammy';
import type { TaskEvent } from '../model/task-events.js';
import { errorMessage } from '../platform/errors.js';
import type { Logger } from '../telemetry/logger.js';
import type { ReviewButtons } from './review-buttons.js';
import type { TaskDesk } from './task-desk.js';
import { clipMessage, noticeText, planText } from './telegram-text.js';

/**
 * The bot's notices: the plan to the chat that created a task, and to every allowed chat a notice
 * with a summary when a task ends or starts waiting for a person (with the decision buttons).
 */

interface TelegramNoticesOptions {
  readonly bot: Bot;
  readonly desk: TaskDesk;
  readonly logger: Logger;
  readonly allowed: ReadonlySet<number>;
  readonly buttons: ReviewButtons;
  /** Chats that created a task get its plan; shared with the /task command, which fills it. */
  readonly creators: Map<string, number>;
  readonly scrub: (text: string) => string;
  readonly inBackground: (work: () => Promise<void>) => void;
}

/** Returns the task-event listener that sends the notices. */
export function createTelegramNotices(options: TelegramNoticesOptions): (event: TaskEvent) => void {
  const { bot, desk, logger, allowed, buttons, creators, scrub } = options;
  const noticed = new Set<string>();
  const planSent = new Set<string>();
  const noticeChains = new Map<string, Promise<void>>();

  async function sendToAll(text: string, keyboard?: InlineKeyboard): Promise<void> {
    for (const chat of allowed) {
      await bot.api.sendMessage(chat, clipMessage(text), keyboard ? { reply_markup: keyboard } : {}).catch((error: unknown) => {
        logger.warn({ chat, error: scrub(errorMessage(error)) }, 'could not send a Telegram notice');
      });
    }
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
    await sendToAll(noticeText(record, summary), record.state === 'AWAITING_HUMAN_REVIEW' ? buttons.keyboard(record) : undefined);
    if (record.state !== 'AWAITING_HUMAN_REVIEW') {
      creators.delete(record.id);
      planSent.delete(record.id);
    }
  }

  return (event) => {
    // PLANNED is passed through without a stop; the first state after it says the plan was approved.
    const planned =
      event.type === 'task.state' && (event.state === 'PLANNED' || event.state === 'IMPLEMENTING') && creators.has(event.taskId) && !planSent.has(event.taskId);
    if (planned) planSent.add(event.taskId);
    // A driver (re)started on a waiting task announces the state again, without a previous one: not news.
    const waiting =
      event.type === 'task.state' && event.state === 'AWAITING_HUMAN_REVIEW' && event.previous !== undefined && event.previous !== 'AWAITING_HUMAN_REVIEW';
    const finished = event.type === 'task.finished';
    if (!planned && !waiting && !finished) return;
    // One task's notices go out in the order of its events.
    const previous = noticeChains.get(event.taskId) ?? Promise.resolve();
    const next = previous
      .then(() => notice(event.taskId, planned))
      .catch((error: unknown) => logger.warn({ task: event.taskId, error: scrub(errorMessage(error)) }, 'could not send a Telegram notice'));
    noticeChains.set(event.taskId, next);
    options.inBackground(async () => {
      await next;
      if (noticeChains.get(event.taskId) === next) noticeChains.delete(event.taskId);
    });
  };
}
