import { Bot } from 'grammy';
import type { Update, UserFromGetMe } from 'grammy/types';
import type { Subscription } from '../bus/bus.js';
import { errorMessage } from '../platform/errors.js';
import type { Logger } from '../telemetry/logger.js';
import { createRateLimiter, type RateLimitOptions } from './rate-limit.js';
import { createReviewButtons } from './review-buttons.js';
import type { TaskDesk } from './task-desk.js';
import { registerTelegramCommands } from './telegram-commands.js';
import { createTelegramNotices } from './telegram-notices.js';

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
  /** Chats that created a task get its plan. */
  const creators = new Map<string, number>();
  const buttons = createReviewButtons();
  let polling: Promise<void> | undefined;

  /** The token is in every request URL; keep it out of logs. */
  const scrub = (text: string): string => text.split(token).join('[token]');

  function inBackground(work: () => Promise<void>): void {
    const promise = work().catch((error: unknown) => logger.warn({ error: scrub(errorMessage(error)) }, 'a Telegram action failed'));
    background.add(promise);
    void promise.finally(() => background.delete(promise));
  }

  registerTelegramCommands(bot, { desk, logger, allowed, buttons, creators, now, scrub, inBackground });
  const onEvent = createTelegramNotices({ bot, desk, logger, allowed, buttons, creators, scrub, inBackground });
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
        .catch((error: unknown) => logger.warn({ error: scrub(errorMessage(error)) }, "could not set the bot's command list"));
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
      if (bot.isRunning())
        await bot.stop().catch((error: unknown) => logger.warn({ error: scrub(errorMessage(error)) }, 'could not confirm the last Telegram update'));
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
