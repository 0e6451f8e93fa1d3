import { describe, expect, it } from 'vitest';
import type { ApiCallFn, Transformer } from 'grammy';
import { createRateLimiter } from '../../src/notify/rate-limit.js';

/**
 * The outgoing-call limiter on a manual clock: per-chat spacing, the global rate, and 429 answers
 * waited out for their retry_after. `sleep` advances the clock, so the schedule is exact.
 */

type Response = { ok: true; result: unknown } | { ok: false; error_code: number; description: string; parameters?: { retry_after?: number } };

function harness(answers: Response[] = []) {
  let now = 0;
  const slept: number[] = [];
  const sent: { method: string; chat: unknown; at: number }[] = [];
  const limiter: Transformer = createRateLimiter({
    perChatIntervalMs: 1_000,
    perGroupIntervalMs: 3_000,
    globalPerSecond: 30,
    maxRetries: 2,
    maxRetryAfterSeconds: 10,
    now: () => now,
    sleep: (ms) => {
      slept.push(ms);
      const until = now + ms;
      return Promise.resolve().then(() => {
        now = Math.max(now, until);
      });
    },
  });
  const prev = ((method: string, payload: { chat_id?: unknown }) => {
    sent.push({ method, chat: payload.chat_id, at: now });
    return Promise.resolve(answers.shift() ?? { ok: true, result: true });
  }) as unknown as ApiCallFn;
  const call = (method: string, payload: Record<string, unknown>) =>
    (limiter as unknown as (p: ApiCallFn, m: string, pl: Record<string, unknown>) => Promise<Response>)(prev, method, payload);
  return { call, slept, sent };
}

describe('telegram rate limiter', () => {
  it('spaces messages to one chat a second apart', async () => {
    const h = harness();
    for (const text of ['a', 'b', 'c']) await h.call('sendMessage', { chat_id: 1, text });
    expect(h.sent.map((s) => s.at)).toEqual([0, 1_000, 2_000]);
  });

  it('spaces messages to a group or channel three seconds apart (about 20 a minute), a private chat still one', async () => {
    const h = harness();
    for (const text of ['a', 'b', 'c']) await h.call('sendMessage', { chat_id: -1001234, text });
    for (const text of ['a', 'b']) await h.call('sendMessage', { chat_id: '@tandem_news', text });
    for (const text of ['a', 'b']) await h.call('sendMessage', { chat_id: 42, text });
    const at = (chat: unknown) => h.sent.filter((s) => s.chat === chat).map((s) => Math.round(s.at));
    expect(at(-1001234)).toEqual([0, 3_000, 6_000]);
    const channel = at('@tandem_news');
    expect((channel[1] ?? 0) - (channel[0] ?? 0)).toBe(3_000);
    const direct = at(42);
    expect((direct[1] ?? 0) - (direct[0] ?? 0)).toBe(1_000);
  });

  it('keeps different chats to 30 calls a second overall', async () => {
    const h = harness();
    await Promise.all([1, 2, 3, 4].map((chat) => h.call('sendMessage', { chat_id: chat, text: 'hi' })));
    // All four were booked at t=0; the first goes at once, the others wait their turn.
    expect(h.sent.map((s) => s.chat)).toEqual([1, 2, 3, 4]);
    expect(h.slept.map((ms) => Math.round(ms))).toEqual([33, 67, 100]);
  });

  it('never delays getUpdates', async () => {
    const h = harness();
    await h.call('sendMessage', { chat_id: 1, text: 'x' });
    await h.call('getUpdates', { offset: 1, timeout: 30 });
    expect(h.sent.map((s) => [s.method, s.at])).toEqual([
      ['sendMessage', 0],
      ['getUpdates', 0],
    ]);
  });

  it('waits out a 429 for its retry_after, then sends again', async () => {
    const h = harness([{ ok: false, error_code: 429, description: 'Too Many Requests: retry after 3', parameters: { retry_after: 3 } }]);
    const result = await h.call('sendMessage', { chat_id: 7, text: 'x' });
    expect(result).toEqual({ ok: true, result: true });
    expect(h.sent.map((s) => s.at)).toEqual([0, 3_000]);
  });

  it("gives up after its retries, or at once when retry_after is too long, returning Telegram's answer", async () => {
    const tooMany = (after: number): Response => ({ ok: false, error_code: 429, description: 'Too Many Requests', parameters: { retry_after: after } });
    const persistent = harness([tooMany(1), tooMany(1), tooMany(1)]);
    expect(await persistent.call('sendMessage', { chat_id: 7, text: 'x' })).toEqual(tooMany(1));
    expect(persistent.sent).toHaveLength(3);
    const long = harness([tooMany(3_600)]);
    expect(await long.call('sendMessage', { chat_id: 7, text: 'x' })).toEqual(tooMany(3_600));
    expect(long.sent).toHaveLength(1);
  });

  it('passes other errors through untouched', async () => {
    const h = harness([{ ok: false, error_code: 400, description: 'Bad Request: chat not found' }]);
    expect(await h.call('sendMessage', { chat_id: 7, text: 'x' })).toEqual({ ok: false, error_code: 400, description: 'Bad Request: chat not found' });
    expect(h.sent).toHaveLength(1);
  });
});
