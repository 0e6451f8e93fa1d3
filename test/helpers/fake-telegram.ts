import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake Telegram Bot API server on 127.0.0.1 for grammY's `apiRoot`: `POST /bot<token>/<method>`
 * with a JSON body, answered `{ok, result}` like the real one. getUpdates long-polls a queue the
 * test fills with real update objects; every call is recorded with its time, so tests assert what
 * the bot sent, and when. Scripted 429s (`{ok:false, error_code:429, parameters:{retry_after}}`)
 * test the bot's back-off.
 */

export interface FakeCall {
  readonly method: string;
  readonly payload: Record<string, unknown>;
  readonly at: number;
  /** What the fake answered: `ok` false for scripted errors. */
  readonly ok: boolean;
}

export interface FakeTelegram {
  readonly apiRoot: string;
  readonly token: string;
  readonly calls: FakeCall[];
  /** Calls of one method that were answered ok. */
  sent(method: string): FakeCall[];
  /** Queues an update for getUpdates; returns its update_id. */
  push(update: Record<string, unknown>): number;
  /** The next `count` calls of `method` are answered 429 with `retry_after`. */
  tooManyRequests(method: string, count: number, retryAfterSeconds: number): void;
  /** Waits until `count` ok calls of `method` were made (and match `where`), within `timeoutMs`. */
  waitFor(method: string, count?: number, where?: (call: FakeCall) => boolean, timeoutMs?: number): Promise<FakeCall[]>;
  close(): Promise<void>;
}

export const fakeBotInfo = {
  id: 4242,
  is_bot: true as const,
  first_name: 'tandem test bot',
  username: 'tandem_test_bot',
  can_join_groups: true,
  can_read_all_group_messages: false,
  supports_inline_queries: false,
  can_connect_to_business: false,
  has_main_web_app: false,
  has_topics_enabled: false,
  allows_users_to_create_topics: false,
  can_manage_bots: false,
  supports_join_request_queries: false,
};

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return {};
  const parsed: unknown = JSON.parse(text);
  return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export async function startFakeTelegram(options: { token?: string } = {}): Promise<FakeTelegram> {
  const token = options.token ?? '123456:TEST-token_abc';
  const calls: FakeCall[] = [];
  const updates: { update_id: number }[] = [];
  const waiters = new Set<() => void>();
  const failures = new Map<string, { count: number; retryAfter: number }>();
  const polls = new Set<ServerResponse>();
  let nextUpdateId = 1000;
  let nextMessageId = 1;

  const notify = (): void => {
    for (const wake of [...waiters]) wake();
  };

  function result(method: string, payload: Record<string, unknown>): unknown {
    switch (method) {
      case 'getMe':
        return fakeBotInfo;
      case 'sendMessage':
        return {
          message_id: nextMessageId++,
          date: Math.floor(Date.now() / 1000),
          chat: { id: payload['chat_id'], type: 'private' },
          from: { id: fakeBotInfo.id, is_bot: true, first_name: fakeBotInfo.first_name },
          text: payload['text'],
          ...(payload['reply_markup'] ? { reply_markup: payload['reply_markup'] } : {}),
        };
      default:
        return true;
    }
  }

  const server = createServer((req, res) => {
    void (async () => {
      const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(new URL(req.url ?? '/', 'http://localhost').pathname);
      const payload: Record<string, unknown> = await readBody(req).catch(() => ({}));
      if (!match || match[1] !== token) {
        send(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
        return;
      }
      const method = match[2] ?? '';
      const failure = failures.get(method);
      if (failure && failure.count > 0) {
        failure.count--;
        calls.push({ method, payload, at: Date.now(), ok: false });
        notify();
        send(res, 429, {
          ok: false,
          error_code: 429,
          description: `Too Many Requests: retry after ${failure.retryAfter}`,
          parameters: { retry_after: failure.retryAfter },
        });
        return;
      }
      if (method === 'getUpdates') {
        const offset = typeof payload['offset'] === 'number' ? payload['offset'] : 0;
        while (updates.length > 0 && (updates[0]?.update_id ?? 0) < offset) updates.shift();
        const timeoutMs = Math.min(typeof payload['timeout'] === 'number' ? payload['timeout'] : 0, 30) * 1000;
        const deadline = Date.now() + timeoutMs;
        polls.add(res);
        res.on('close', () => polls.delete(res));
        while (updates.length === 0 && Date.now() < deadline && !res.destroyed) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(done, Math.max(1, deadline - Date.now()));
            function done(): void {
              clearTimeout(timer);
              waiters.delete(done);
              resolve();
            }
            waiters.add(done);
          });
        }
        polls.delete(res);
        if (res.destroyed) return;
        const limit = typeof payload['limit'] === 'number' ? payload['limit'] : 100;
        calls.push({ method, payload, at: Date.now(), ok: true });
        send(res, 200, { ok: true, result: updates.slice(0, limit) });
        return;
      }
      calls.push({ method, payload, at: Date.now(), ok: true });
      notify();
      send(res, 200, { ok: true, result: result(method, payload) });
    })().catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { ok: false, error_code: 500, description: String(error) });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    apiRoot: `http://127.0.0.1:${port}`,
    token,
    calls,
    sent: (method) => calls.filter((c) => c.method === method && c.ok),
    push(update) {
      const update_id = nextUpdateId++;
      updates.push({ ...update, update_id });
      notify();
      return update_id;
    },
    tooManyRequests(method, count, retryAfterSeconds) {
      failures.set(method, { count, retryAfter: retryAfterSeconds });
    },
    async waitFor(method, count = 1, where = () => true, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = calls.filter((c) => c.method === method && c.ok && where(c));
        if (found.length >= count) return found;
        if (Date.now() > deadline) {
          const seen = calls.map((c) => `${c.method}${c.ok ? '' : '(429)'} ${JSON.stringify(c.payload).slice(0, 160)}`).join('\n  ');
          throw new Error(`timed out waiting for ${count} ${method} call(s); calls so far:\n  ${seen}`);
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, 50);
          function done(): void {
            clearTimeout(timer);
            waiters.delete(done);
            resolve();
          }
          waiters.add(done);
        });
      }
    },
    async close() {
      for (const res of polls) res.destroy();
      notify();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Update objects as Telegram sends them. */
export const updates = {
  text(chatId: number, text: string, from: { id?: number; username?: string } = {}): Record<string, unknown> {
    const command = /^\/[a-z_]+/i.exec(text);
    return {
      message: {
        message_id: Math.floor(Math.random() * 1e6),
        date: Math.floor(Date.now() / 1000),
        chat: { id: chatId, type: 'private', first_name: 'Tester' },
        from: { id: from.id ?? chatId, is_bot: false, first_name: 'Tester', ...(from.username ? { username: from.username } : {}) },
        text,
        ...(command ? { entities: [{ type: 'bot_command', offset: 0, length: command[0].length }] } : {}),
      },
    };
  },
  callback(chatId: number, data: string, from: { id?: number; username?: string } = {}): Record<string, unknown> {
    return {
      callback_query: {
        id: String(Math.floor(Math.random() * 1e9)),
        chat_instance: 'ci-1',
        data,
        from: { id: from.id ?? chatId, is_bot: false, first_name: 'Tester', ...(from.username ? { username: from.username } : {}) },
        message: {
          message_id: 77,
          date: Math.floor(Date.now() / 1000),
          chat: { id: chatId, type: 'private', first_name: 'Tester' },
          from: { id: fakeBotInfo.id, is_bot: true, first_name: fakeBotInfo.first_name },
          text: 'a review',
        },
      },
    };
  },
};
