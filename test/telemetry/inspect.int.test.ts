import { get as httpGet } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createScriptedRunner } from '../../src/runners/scripted.js';
import { createMemoryBus } from '../../src/bus/memory-bus.js';
import { createMemoryStore } from '../../src/store/memory-store.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { TaskSpecSchema } from '../../src/model/task-spec.js';
import { inspectorBanner, startInspector, type Inspector } from '../../src/telemetry/inspect.js';
import { fakeWorkspace } from '../helpers/fake-ports.js';
import { config, flakyGate, script } from './traced-run.js';

interface Relayed {
  readonly type: string;
  readonly name?: string;
  readonly snapshot?: { readonly value?: unknown };
}

/** Connects as the browser page does and collects what the relay forwards. */
async function browser(inspector: Inspector): Promise<{ messages: Relayed[]; socket: WebSocket }> {
  const socket = new WebSocket(inspector.websocketUrl);
  const messages: Relayed[] = [];
  socket.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString()) as Relayed));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return { messages, socket };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('startInspector', () => {
  const open: { close(): unknown }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0).reverse()) await o.close();
  });

  it('streams the supervisor machine to the Stately inspector page, served on 127.0.0.1, and replays to a late browser', async () => {
    const inspector = await startInspector();
    open.push(inspector);
    expect(inspector.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(inspectorBanner(inspector)).toBe(
      `XState inspector: open ${inspector.url} in a browser (it embeds https://stately.ai/inspect and shows this process's machines live)\n`,
    );
    const page = await fetch(inspector.url);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await page.text();
    expect(html).toContain('iframe.src = "https://stately.ai/inspect";');
    expect(html).toContain("new WebSocket('ws://' + location.host)");

    const early = await browser(inspector);
    open.push({ close: () => early.socket.close() });
    const runtime = createRuntime({
      config,
      runners: new Map([['scripted', createScriptedRunner({ script })]]),
      store: createMemoryStore(),
      bus: createMemoryBus(),
      gate: flakyGate(),
      workspace: fakeWorkspace(),
      inspect: inspector.inspect,
    });
    const spec = TaskSpecSchema.parse({ id: 'RAE-001', goal: 'g' });
    expect((await (await runtime.submit({ spec, repo: '/repo', base: 'main', baseCommit: 'abc' })).outcome).state).toBe('DONE');
    await runtime.close();

    const done = (m: Relayed[]) => m.some((e) => e.type === '@xstate.snapshot' && e.snapshot?.value === 'DONE');
    await until(() => done(early.messages), 'the final snapshot');
    expect(early.messages.find((e) => e.type === '@xstate.actor')?.name).toBe('supervisor');
    expect(new Set(early.messages.map((e) => e.type))).toEqual(new Set(['@xstate.actor', '@xstate.event', '@xstate.snapshot']));

    const late = await browser(inspector);
    open.push({ close: () => late.socket.close() });
    await until(() => done(late.messages), 'the replay');
    expect(late.messages[0]?.type).toBe('@xstate.actor');
  });

  it('relays read-only: what a client sends never reaches the other clients', async () => {
    const inspector = await startInspector();
    open.push(inspector);
    const reader = await browser(inspector);
    const writer = await browser(inspector);
    open.push({ close: () => reader.socket.close() }, { close: () => writer.socket.close() });
    writer.socket.send(JSON.stringify({ type: '@xstate.snapshot', snapshot: { value: 'FORGED' } }));
    writer.socket.send(JSON.stringify({ type: '@xstate.actor', name: 'forged' }));
    // Then a real event from this process, which does arrive: the forged ones would have come first.
    inspector.inspect({
      type: '@xstate.event',
      actorRef: { sessionId: 'x.1' } as never,
      sourceRef: undefined,
      event: { type: 'real' },
      rootId: 'x.1',
    } as never);
    await until(() => reader.messages.length > 0 && writer.messages.length > 0, 'the real event');
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (const messages of [reader.messages, writer.messages]) {
      expect(JSON.stringify(messages)).not.toContain('FORGED');
      expect(JSON.stringify(messages)).not.toContain('forged');
    }
    // A late reader's replay holds nothing a client sent either.
    const late = await browser(inspector);
    open.push({ close: () => late.socket.close() });
    await until(() => late.messages.length > 0, 'the replay');
    expect(JSON.stringify(late.messages)).not.toContain('FORGED');
  });

  it('accepts only its own page, the Stately inspector and non-browser clients; refuses other origins and foreign host names', async () => {
    const inspector = await startInspector();
    open.push(inspector);
    const port = new URL(inspector.url).port;
    const attempt = (origin: string | undefined, headers: Record<string, string> = {}): Promise<number> =>
      new Promise((resolve) => {
        const socket = new WebSocket(inspector.websocketUrl, { ...(origin === undefined ? {} : { origin }), headers });
        socket.once('open', () => {
          socket.close();
          resolve(101);
        });
        socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        socket.once('error', () => resolve(-1));
      });
    expect(await attempt(undefined)).toBe(101);
    expect(await attempt(`http://127.0.0.1:${port}`)).toBe(101);
    expect(await attempt(`http://localhost:${port}`)).toBe(101);
    expect(await attempt('https://stately.ai')).toBe(101);
    expect(await attempt('https://evil.example')).toBe(401);
    expect(await attempt('http://127.0.0.1.evil.example')).toBe(401);
    expect(await attempt('null')).toBe(401);
    // DNS rebinding: a foreign name resolving to 127.0.0.1 reaches neither the page nor the stream.
    expect(await attempt(undefined, { Host: `evil.example:${port}` })).toBe(401);
    const status = await new Promise<number | undefined>((resolve, reject) =>
      httpGet(inspector.url, { headers: { Host: `evil.example:${port}` } }, (res) => {
        res.resume();
        resolve(res.statusCode);
      }).once('error', reject),
    );
    expect(status).toBe(403);
    expect((await fetch(inspector.url)).status).toBe(200);
  });

  it('refuses a port that is taken, naming the flag', async () => {
    const first = await startInspector();
    open.push(first);
    const port = Number(new URL(first.url).port);
    await expect(startInspector({ port })).rejects.toThrow(`command line: --inspect: cannot listen on 127.0.0.1:${port}: EADDRINUSE`);
  });
});
