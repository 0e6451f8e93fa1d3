import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMediator, type Mediator } from '../../src/mediator/mediator.js';
import { createOllamaMediatorModel, ollamaBaseUrl, probeOllama } from '../../src/mediator/mediator-model.js';
import type { SummaryFacts } from '../../src/mediator/mediator-schemas.js';
import { startFakeOllama, type FakeOllama } from '../helpers/fake-ollama.js';

/**
 * The mediator against a fake Ollama speaking the real /api/chat shapes: a good answer becomes a
 * TaskSpec; invalid JSON, files that do not exist, and a task that drops the request are each
 * rejected for their own reason after the model was asked again (at most twice).
 */

const REQUEST = 'fix the timeout handling in db.py and add tests';
const MODEL = 'llama3.1:8b';

const goodTask = {
  title: 'Timeout handling in db.py',
  goal: 'Fix the timeout handling in db.py: retry a timed-out connection and raise a clear error; add tests for it.',
  type: 'fix',
  risk: 'medium',
  area: 'core',
  priority: 'medium',
  target_files: ['db.py', 'tests/test_db.py'],
  context_files: ['config/db.json'],
  success_criteria: ['a test covers a connection timeout', 'timeouts are retried once'],
  constraints: [],
};

function answer(value: unknown): { content: string } {
  return { content: JSON.stringify(value) };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('mediator: request → task', () => {
  let repo: string;
  let ollama: FakeOllama;
  let mediator: Mediator;

  beforeEach(async () => {
    repo = await realpath(await mkdtemp(join(tmpdir(), 'tandem-mediator-')));
    await mkdir(join(repo, 'tests'), { recursive: true });
    await mkdir(join(repo, 'config'), { recursive: true });
    await writeFile(join(repo, 'db.py'), 'def connect():\n    pass\n');
    await writeFile(join(repo, 'tests', 'test_db.py'), 'def test_connect():\n    pass\n');
    await writeFile(join(repo, 'config', 'db.json'), '{}\n');
    await writeFile(join(repo, 'README.md'), '# app\n');
    ollama = await startFakeOllama({ models: [MODEL] });
    mediator = createMediator({
      model: createOllamaMediatorModel({ host: ollama.url, model: MODEL, timeoutMs: 5_000 }),
      listFiles: () => Promise.resolve(['README.md', 'config/db.json', 'db.py', 'tests/test_db.py']),
    });
  });

  afterEach(async () => {
    await ollama.close();
    await rm(repo, { recursive: true, force: true });
  });

  it("turns a good answer into a TaskSpec with tandem's id, calling /api/chat with stream:false and the JSON schema as format", async () => {
    ollama.reply(answer(goodTask));
    const result = await mediator.interpret(REQUEST, { id: 'tg-1', repo, by: '@ana', source: { file: 'telegram' } });
    expect(result).toMatchObject({ ok: true, attempts: 1 });
    if (!result.ok) return;
    expect(result.spec).toMatchObject({
      id: 'tg-1',
      title: 'Timeout handling in db.py',
      type: 'fix',
      priority: 'medium',
      target_files: ['db.py', 'tests/test_db.py'],
      context_files: ['config/db.json'],
      context: `Original request from @ana: ${REQUEST}`,
      source: { file: 'telegram' },
    });
    const [call] = ollama.chats();
    expect(call?.path).toBe('/api/chat');
    expect(call?.body['model']).toBe(MODEL);
    expect(call?.body['stream']).toBe(false);
    const format = call?.body['format'] as { type: string; required: string[]; additionalProperties: boolean };
    expect(format.type).toBe('object');
    expect(format.additionalProperties).toBe(false);
    expect([...format.required].sort()).toEqual([
      'area',
      'constraints',
      'context_files',
      'goal',
      'priority',
      'risk',
      'success_criteria',
      'target_files',
      'title',
      'type',
    ]);
    const messages = call?.body['messages'] as { role: string; content: string }[];
    expect(messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(messages[1]?.content).toContain(REQUEST);
    expect(messages[1]?.content).toContain('tests/test_db.py');
  });

  it('asks again after invalid JSON, telling the model what was wrong', async () => {
    ollama.reply({ content: '{"title": "Timeout handling", "goal": ' }, answer(goodTask));
    const result = await mediator.interpret(REQUEST, { id: 'tg-2', repo });
    expect(result).toMatchObject({ ok: true, attempts: 2 });
    const second = (ollama.chats()[1]?.body['messages'] as { content: string }[])[1]?.content ?? '';
    expect(second).toContain('Your previous answer was rejected');
    expect(second).toContain('not valid JSON');
  });

  it('rejects invalid JSON for that reason after asking again twice (3 calls in all)', async () => {
    ollama.reply({ content: 'Sure! Here is the task: fix db.py' });
    const result = await mediator.interpret(REQUEST, { id: 'tg-3', repo });
    expect(result).toMatchObject({ ok: false, reason: 'rejected', attempts: 3 });
    if (result.ok || result.reason !== 'rejected') return;
    expect(result.problems.map((p) => p.kind)).toEqual(['invalid_json']);
    expect(ollama.chats()).toHaveLength(3);
  });

  it('rejects a task that names a file the repository does not have', async () => {
    ollama.reply(answer({ ...goodTask, context_files: ['src/db/pool.py'] }));
    const result = await mediator.interpret(REQUEST, { id: 'tg-4', repo });
    expect(result).toMatchObject({ ok: false, reason: 'rejected', attempts: 3 });
    if (result.ok || result.reason !== 'rejected') return;
    expect(result.problems).toEqual([
      { kind: 'missing_file', field: 'context_files[0]', message: 'context_files[0]: `src/db/pool.py` does not exist in the repository' },
    ]);
  });

  it('accepts a new target file when the request itself asks for it', async () => {
    const request = 'document the timeout handling of db.py in docs/timeouts.md';
    ollama.reply(
      answer({
        ...goodTask,
        title: 'Document timeouts',
        goal: 'Document the timeout handling of db.py in docs/timeouts.md',
        type: 'docs',
        target_files: ['docs/timeouts.md'],
        context_files: ['db.py'],
      }),
    );
    const result = await mediator.interpret(request, { id: 'tg-5', repo });
    expect(result).toMatchObject({ ok: true, attempts: 1 });
  });

  it('rejects a file outside the repository', async () => {
    ollama.reply(answer({ ...goodTask, context_files: ['../../etc/passwd'] }));
    const result = await mediator.interpret(REQUEST, { id: 'tg-6', repo });
    expect(result.ok).toBe(false);
    if (result.ok || result.reason !== 'rejected') return;
    expect(result.problems.map((p) => [p.kind, p.field])).toEqual([['outside_repo', 'context_files[0]']]);
  });

  it("rejects a task that drops the user's request: the file it names and its key terms are gone", async () => {
    ollama.reply(
      answer({
        ...goodTask,
        title: 'Tidy the README',
        goal: 'Improve the formatting of README.md',
        type: 'docs',
        target_files: ['README.md'],
        context_files: [],
        success_criteria: ['README renders cleanly'],
      }),
    );
    const result = await mediator.interpret(REQUEST, { id: 'tg-7', repo });
    expect(result).toMatchObject({ ok: false, reason: 'rejected', attempts: 3 });
    if (result.ok || result.reason !== 'rejected') return;
    expect(result.problems.map((p) => p.kind)).toEqual(['dropped_file', 'ungrounded']);
    expect(result.problems[1]?.message).toBe('the goal is not the request: it keeps 0 of its 3 key terms (missing: timeout, handling, tests)');
    expect(result.message).toContain('rejected after 3 tries');
  });

  it('rejects an answer that breaks the schema, naming the field', async () => {
    ollama.reply(answer({ ...goodTask, priority: 'urgent', success_criteria: [] }));
    const result = await mediator.interpret(REQUEST, { id: 'tg-8', repo });
    expect(result.ok).toBe(false);
    if (result.ok || result.reason !== 'rejected') return;
    expect(result.problems.map((p) => [p.kind, p.field])).toEqual([
      ['schema', 'priority'],
      ['schema', 'success_criteria'],
    ]);
  });

  it("recovers when a second answer fixes the first one's problem", async () => {
    ollama.reply(answer({ ...goodTask, context_files: ['db_pool.py'] }), answer(goodTask));
    const result = await mediator.interpret(REQUEST, { id: 'tg-9', repo });
    expect(result).toMatchObject({ ok: true, attempts: 2 });
    const second = (ollama.chats()[1]?.body['messages'] as { content: string }[])[1]?.content ?? '';
    expect(second).toContain('`db_pool.py` does not exist in the repository');
  });

  it('says clearly that no model is reachable, without retrying', async () => {
    const port = await freePort();
    const offline = createMediator({ model: createOllamaMediatorModel({ host: `127.0.0.1:${port}`, model: MODEL }), listFiles: () => Promise.resolve([]) });
    const result = await offline.interpret(REQUEST, { id: 'tg-10', repo });
    expect(result).toMatchObject({ ok: false, reason: 'unavailable', attempts: 1 });
    if (result.ok) return;
    expect(result.message).toBe(
      `the local model (${MODEL} at http://127.0.0.1:${port}) is not available: Ollama is not reachable at http://127.0.0.1:${port} (ECONNREFUSED); is \`ollama serve\` running?`,
    );
  });

  it('says which model to pull when Ollama does not have it', async () => {
    const other = createMediator({ model: createOllamaMediatorModel({ host: ollama.url, model: 'qwen2.5:7b' }), listFiles: () => Promise.resolve([]) });
    const result = await other.interpret(REQUEST, { id: 'tg-11', repo });
    expect(result).toMatchObject({ ok: false, reason: 'unavailable' });
    if (result.ok) return;
    expect(result.message).toContain('HTTP 404: model "qwen2.5:7b" not found, try pulling it first');
    expect(result.message).toContain('run `ollama pull qwen2.5:7b`');
  });

  it('gives up on a model that does not answer within its timeout', async () => {
    ollama.reply({ hang: true });
    const slow = createMediator({ model: createOllamaMediatorModel({ host: ollama.url, model: MODEL, timeoutMs: 300 }), listFiles: () => Promise.resolve([]) });
    const started = Date.now();
    const result = await slow.interpret(REQUEST, { id: 'tg-12', repo });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(result).toMatchObject({ ok: false, reason: 'unavailable' });
    if (result.ok) return;
    expect(result.message).toContain('did not answer within 300 ms');
  });
});

describe('mediator: task record → summary', () => {
  let ollama: FakeOllama;
  let mediator: Mediator;
  const facts: SummaryFacts = {
    id: 'T1',
    title: 'Timeouts',
    goal: 'Fix the timeout handling in db.py',
    state: 'DONE',
    branch: 'tandem/T1',
    commits: ['3f2a9c1d0e4b5a6978877665544332211aabbccd'],
    steps: [{ id: 'S1', description: 'Retry timed-out connections', committed: true }],
    stepCount: 1,
    costUsd: 0.0123,
    durationMs: 95_000,
  };

  beforeEach(async () => {
    ollama = await startFakeOllama({ models: [MODEL] });
    mediator = createMediator({ model: createOllamaMediatorModel({ host: ollama.url, model: MODEL }), listFiles: () => Promise.resolve([]) });
  });

  afterEach(async () => {
    await ollama.close();
  });

  it('renders a summary that agrees with the record', async () => {
    ollama.reply(
      answer({
        status: 'SUCCESS',
        accomplished: 'Timed-out connections are retried (commit 3f2a9c1 on tandem/T1).',
        key_points: ['one step, tested'],
        next_steps: [],
      }),
    );
    const result = await mediator.summarize(facts);
    expect(result).toMatchObject({ ok: true });
    if (!result.ok) return;
    expect(result.text).toBe(
      `SUCCESS: Timed-out connections are retried (commit 3f2a9c1 on tandem/T1).\n\n- one step, tested\n\n(summary by ${MODEL} at ${ollama.url}, checked against the task record)\n`,
    );
  });

  it('rejects a summary that claims the wrong outcome, an unknown commit or another branch', async () => {
    ollama.reply(answer({ status: 'FAILED', accomplished: 'Committed abc1234 on tandem/other.', key_points: [], next_steps: [] }));
    const result = await mediator.summarize(facts);
    expect(result).toEqual({
      ok: false,
      reason: 'rejected',
      message:
        "the local model's summary was rejected: status FAILED contradicts the task's state DONE (use SUCCESS); commit abc1234 is not one of the task's commits (3f2a9c1d0e); branch tandem/other is not the task's branch (tandem/T1)",
    });
    expect(ollama.chats()).toHaveLength(3);
  });
});

describe('ollama host', () => {
  it('reads OLLAMA_HOST the way the ollama tools do', () => {
    expect(ollamaBaseUrl(undefined)).toBe('http://127.0.0.1:11434');
    expect(ollamaBaseUrl('')).toBe('http://127.0.0.1:11434');
    expect(ollamaBaseUrl('0.0.0.0')).toBe('http://127.0.0.1:11434');
    expect(ollamaBaseUrl('gpu-box:8080')).toBe('http://gpu-box:8080');
    expect(ollamaBaseUrl('http://gpu-box')).toBe('http://gpu-box:11434');
    expect(ollamaBaseUrl('https://ollama.example.com/')).toBe('https://ollama.example.com');
  });

  it('probes whether the model is there', async () => {
    const ollama = await startFakeOllama({ models: [MODEL] });
    try {
      expect(await probeOllama({ host: ollama.url, model: MODEL })).toEqual({ ok: true, message: `${MODEL} at ${ollama.url}` });
      expect(await probeOllama({ host: ollama.url, model: 'mistral' })).toEqual({
        ok: false,
        message: `Ollama at ${ollama.url} has no model mistral (run \`ollama pull mistral\`)`,
      });
    } finally {
      await ollama.close();
    }
  });
});
