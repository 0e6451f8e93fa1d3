import type { Transformer } from 'grammy';

/**
 * Outgoing Telegram calls within the Bot API's limits: about one message per second per chat, 20
 * per minute in a group (a negative chat id or an @channel name), and 30 per second overall (https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this),
 * and a 429 answer waited out for its `retry_after` and tried again instead of lost.
 */
export interface RateLimitOptions {
  /** Gap between two calls to the same private chat. */
  readonly perChatIntervalMs?: number;
  /** Gap between two calls to the same group or channel (Telegram allows about 20 a minute there). */
  readonly perGroupIntervalMs?: number;
  /** Calls per second over all chats. */
  readonly globalPerSecond?: number;
  /** Retries of one call after 429 answers. */
  readonly maxRetries?: number;
  /** A longer retry_after is not waited for: the call fails with Telegram's error. */
  readonly maxRetryAfterSeconds?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number, signal?: AbortLike) => Promise<void>;
  readonly onRetry?: (info: { method: string; chatId: string | undefined; retryAfterSeconds: number; attempt: number }) => void;
}

/** grammY hands transformers the signal of its own AbortController polyfill; only this much of it is used. */
interface AbortLike {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** Methods that are not messages to a chat: never delayed, and getUpdates handles its own 429. */
const UNLIMITED: ReadonlySet<string> = new Set(['getUpdates', 'getMe', 'deleteWebhook', 'setWebhook', 'getWebhookInfo', 'close', 'logOut']);

function defaultSleep(ms: number, signal?: AbortLike): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Error('the Telegram call was cancelled'));
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new Error('the Telegram call was cancelled'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort);
  });
}

function chatOf(payload: unknown): string | undefined {
  if (typeof payload !== 'object' || payload === null || !('chat_id' in payload)) return undefined;
  const chat = payload.chat_id;
  return typeof chat === 'number' || typeof chat === 'string' ? String(chat) : undefined;
}

export function createRateLimiter(options: RateLimitOptions = {}): Transformer {
  const perChat = options.perChatIntervalMs ?? 1_000;
  const perGroup = options.perGroupIntervalMs ?? 3_000;
  // Groups and supergroups have negative ids; channels may be addressed by @name.
  const gapFor = (chat: string): number => (chat.startsWith('-') || chat.startsWith('@') ? perGroup : perChat);
  const globalGap = 1_000 / (options.globalPerSecond ?? 30);
  const maxRetries = options.maxRetries ?? 3;
  const maxRetryAfter = options.maxRetryAfterSeconds ?? 60;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const chatFree = new Map<string, number>();
  let globalFree = 0;

  /** Books the next free slot synchronously, so concurrent callers queue instead of colliding. */
  function book(chat: string | undefined): number {
    const t = now();
    if (chatFree.size > 5_000) for (const [key, free] of chatFree) if (free < t) chatFree.delete(key);
    const at = Math.max(t, globalFree, chat === undefined ? 0 : (chatFree.get(chat) ?? 0));
    globalFree = at + globalGap;
    if (chat !== undefined) chatFree.set(chat, at + gapFor(chat));
    return at - t;
  }

  /** Telegram said wait: nothing else goes to that chat (or anywhere, for a chat-less call) before then. */
  function holdOff(chat: string | undefined, seconds: number): void {
    const until = now() + seconds * 1_000;
    if (chat === undefined) globalFree = Math.max(globalFree, until);
    else chatFree.set(chat, Math.max(chatFree.get(chat) ?? 0, until));
  }

  return async (prev, method, payload, signal) => {
    if (UNLIMITED.has(method)) return prev(method, payload, signal);
    const chat = chatOf(payload);
    for (let attempt = 0; ; attempt++) {
      const wait = book(chat);
      if (wait > 0) await sleep(wait, signal);
      const result = await prev(method, payload, signal);
      if (result.ok || result.error_code !== 429) return result;
      const retryAfter = result.parameters?.retry_after ?? 1;
      if (attempt >= maxRetries || retryAfter > maxRetryAfter) return result;
      options.onRetry?.({ method, chatId: chat, retryAfterSeconds: retryAfter, attempt: attempt + 1 });
      holdOff(chat, retryAfter);
    }
  };
}
