import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ErrorKind, ModelRef, RunRequest } from '../../src/model/execution.js';
import type { CliRunner, CliRunnerOptions, ProcessEnd } from '../../src/runners/cli-runner.js';
import type { CliSettings } from '../../src/runners/runner-settings.js';
import type { CliRunnerName } from '../../src/runners/versions.js';
import { type cliBin, fakeCli, fixtureRecorder, processesLeftIn, runRequest, tempWorktree } from './fake-model/e2e-kit.js';
import { startFakeModelServer, type FakeModelServer, type FakeProvider, type RecordedRequest } from './fake-model-server.js';

/** How to run one coding CLI against the fake model server. */
export interface CliUnderTest<S extends CliSettings> {
  /** Key of `cliBin`, name of the fixture folder (test/fixtures/cli-output/<cli>) and of the stand-in executables. */
  readonly cli: keyof typeof cliBin;
  /** The runner's own name (`runner` of its results, suffix of its transcripts). */
  readonly runner: CliRunnerName;
  /** Which of the fake server's APIs the CLI speaks. */
  readonly provider: FakeProvider;
  /** The model of every request unless a test says otherwise. */
  readonly model: ModelRef;
  /** The runner pointed at the fake server, with `overrides` on top of the settings every test uses. */
  create(server: FakeModelServer, overrides: Partial<S>, options: CliRunnerOptions): CliRunner;
}

/** What a CLI e2e test file works with; valid inside tests (set up by the harness's hooks). */
export interface CliE2eHarness<S extends CliSettings> {
  readonly target: CliUnderTest<S>;
  readonly server: FakeModelServer;
  /** This test's fresh worktree. */
  readonly worktree: { readonly dir: string; readonly cleanup: () => Promise<void> };
  /** What the last CLI process of this test printed, and how it ended. */
  readonly lastEnd: ProcessEnd | undefined;
  readonly recorder: ReturnType<typeof fixtureRecorder>;
  runner(overrides?: Partial<S>, options?: Omit<CliRunnerOptions, 'onProcessEnd'>): CliRunner;
  request(fields: Partial<RunRequest> & Pick<RunRequest, 'role'>): RunRequest;
  signal(): AbortSignal;
}

/**
 * Registers the hooks of a CLI e2e file (call it at the top level): one fake model server for the file,
 * a fresh worktree per test, and after every test the check that no process was left behind in it.
 */
export function useCliE2eHarness<S extends CliSettings>(target: CliUnderTest<S>): CliE2eHarness<S> {
  let server: FakeModelServer | undefined;
  let worktree: { dir: string; cleanup: () => Promise<void> } | undefined;
  let lastEnd: ProcessEnd | undefined;
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is only available inside a test`);
    return value;
  };
  const recorder = fixtureRecorder(target.cli, () => [
    [need(worktree, 'the worktree').dir, '<worktree>'],
    [`127.0.0.1:${need(server, 'the fake server').port}`, '127.0.0.1:<port>'],
  ]);

  beforeAll(async () => {
    server = await startFakeModelServer();
  });
  afterAll(async () => {
    await server?.close();
  });
  beforeEach(async () => {
    worktree = await tempWorktree();
    server?.clearRequests();
    lastEnd = undefined;
  });
  afterEach(async () => {
    const dir = need(worktree, 'the worktree');
    // No call may leave a process behind in its worktree.
    expect(await processesLeftIn(dir.dir)).toEqual([]);
    await dir.cleanup();
  });

  return {
    target,
    get server() {
      return need(server, 'the fake server');
    },
    get worktree() {
      return need(worktree, 'the worktree');
    },
    get lastEnd() {
      return lastEnd;
    },
    recorder,
    runner(overrides = {}, options = {}) {
      return target.create(need(server, 'the fake server'), overrides, { ...options, onProcessEnd: (end) => (lastEnd = end) });
    },
    request(fields) {
      return { ...runRequest({ role: fields.role, model: target.model, cwd: need(worktree, 'the worktree').dir }), ...fields };
    },
    signal: () => new AbortController().signal,
  };
}

/** One HTTP error of the model API and what the runner must make of it. */
interface HttpErrorCase {
  readonly status: number;
  readonly kind: ErrorKind;
  /** Fixture name. */
  readonly name: string;
  /** Model requests the CLI makes before it gives up (its own retries). */
  readonly requests: number;
  /** The result's `http_status` (undefined where the CLI leaves the status out of its message). */
  readonly http: number | undefined;
  /** The result's `retry_after_ms` (the fake asks 429s to retry after 7 s). */
  readonly retryAfterMs: number | undefined;
}

/** Where the CLIs differ in the shared cases, as data (and, for request shapes, a check of their own). */
export interface RunnerConformanceQuirks {
  readonly plain: {
    /** `reported` (the CLI's own figure, only checked > 0) or the price table's figure for 100 in, 20 out. */
    readonly cost: { readonly source: 'reported' } | { readonly source: 'price_table'; readonly usd: number };
    /** The body field holding the conversation, which must carry the prompt. */
    readonly promptField: string;
    /** The header carrying the fake API key, and its exact value. */
    readonly authHeader: readonly [name: string, value: string];
    /** The CLI-specific rest of the one model request (model, URL, tools offered to a read-only role). */
    readonly checkRequest: (sent: RecordedRequest) => void;
  };
  /** How the schema reached the model, for CLIs that send one (the first request's body). */
  readonly checkStructuredRequest?: (body: unknown, schema: Record<string, unknown>) => void;
  readonly writeOutside: {
    /** The model of the call (codex edits through apply_patch only with a model of its catalog). */
    readonly model?: ModelRef;
    /** Text the error must contain, given the path outside the worktree. */
    readonly error: (outside: string) => string;
  };
  /** The loop guard's message, naming the CLI's own read tool. */
  readonly loopError: RegExp;
  /** The turn-limit message (a string must be contained, a RegExp must match). */
  readonly turnLimitError: string | RegExp;
  readonly httpErrors: readonly HttpErrorCase[];
  /** Timeout of the hang and stall calls (a slow-starting CLI needs longer to reach the model). */
  readonly timeoutMs: number;
  /** When the abort case aborts (after the CLI has reached the model). */
  readonly abortAfterMs: number;
  readonly stall: {
    /** A line of the partial stream that must be kept. */
    readonly marker: string;
    /** The events reported before the stall, each matched with objectContaining. */
    readonly events: readonly Record<string, unknown>[];
    /** Token fields of the stalled call: estimated only where the model's partial answer reached the stream. */
    readonly tokens: { readonly tokens_input: number; readonly tokens_output: number; readonly tokens_estimated: boolean };
  };
  readonly version: {
    /** The version tandem was tested with. */
    readonly tested: string;
    /** What `<cli> --version` prints for a version. */
    readonly line: (version: string) => string;
  };
}

/** The token and cost fields of a call no model answered. */
const nothingUsed = { tokens_input: 0, tokens_output: 0, tokens_estimated: false, cost_usd: 0 } as const;

const schema = { type: 'object', properties: { ok: { type: 'boolean' }, answer: { type: 'number' } }, required: ['ok', 'answer'], additionalProperties: false };

function expectMessage(actual: string | undefined, expected: string | RegExp): void {
  if (typeof expected === 'string') expect(actual).toContain(expected);
  else expect(actual).toMatch(expected);
}

/**
 * The cases every coding-CLI runner must pass against its real CLI and the fake model server, in the
 * style of the Bus/Store/WorkQueue conformance suites. What legitimately differs per CLI comes in as
 * `quirks`; each e2e file adds only its CLI's own cases.
 */
export function describeRunnerConformance<S extends CliSettings>(h: CliE2eHarness<S>, quirks: RunnerConformanceQuirks): void {
  const { target } = h;
  /** Settings every CLI runner has (S extends CliSettings, so they are settings of S too). */
  const common = (overrides: Partial<Pick<CliSettings, 'command' | 'max_turns' | 'repeat_limit'>>): Partial<S> => overrides as Partial<S>;
  const requests = (): readonly RecordedRequest[] => h.server.requests(target.provider);
  /** A stand-in for the CLI that reports the tested version and runs `otherwise` for any other call. */
  const standIn = (otherwise: string): Promise<string> =>
    fakeCli(h.worktree.dir, target.cli, `case "$1" in --version) echo '${quirks.version.line(quirks.version.tested)}';; *) ${otherwise};; esac`);

  describe(`Runner conformance: ${target.runner} against the real ${target.cli} CLI`, () => {
    it('answers a read-only role with text, real tokens and a cost', async () => {
      h.server.use({ kind: 'text', text: 'Hello from the fake model.' });
      const result = await h.runner().run(h.request({ role: 'planner', prompt: 'Say hello.' }), { signal: h.signal() });
      h.recorder.save('plain', h.lastEnd);
      const { cost, promptField, authHeader, checkRequest } = quirks.plain;
      expect(result).toMatchObject({
        success: true,
        response: 'Hello from the fake model.',
        tokens_input: 100,
        tokens_output: 20,
        tokens_estimated: false,
        cost_source: cost.source,
        runner: target.runner,
      });
      if (cost.source === 'reported') expect(result.cost_usd).toBeGreaterThan(0);
      else expect(result.cost_usd).toBeCloseTo(cost.usd, 12);
      const sent = requests();
      expect(sent).toHaveLength(1);
      const first = sent[0];
      expect(JSON.stringify((first?.body as Record<string, unknown> | undefined)?.[promptField])).toContain('Say hello.');
      expect(first?.headers[authHeader[0]]).toBe(authHeader[1]);
      if (first) checkRequest(first);
    });

    it('returns a structured answer', async () => {
      h.server.use({ kind: 'json', value: { ok: true, answer: 42 } });
      const result = await h.runner().run(h.request({ role: 'plan-reviewer', outputSchema: schema }), { signal: h.signal() });
      h.recorder.save('structured', h.lastEnd);
      expect(result.success).toBe(true);
      expect(JSON.parse(result.response)).toEqual({ ok: true, answer: 42 });
      quirks.checkStructuredRequest?.(requests()[0]?.body, schema);
    });

    it('lets the implementer write a file in the worktree', async () => {
      h.server.use({ kind: 'write', path: 'hello.txt', content: 'hello from fake\n' });
      const result = await h.runner().run(h.request({ role: 'implementer' }), { signal: h.signal() });
      h.recorder.save('write', h.lastEnd);
      expect(result.latency_ms).toBeGreaterThan(0);
      // Edits are allowed by the CLI's own edit mode and sandbox, never by switching its safety off.
      expect(h.lastEnd?.args.join(' ')).not.toMatch(/dangerously|bypass|yolo|danger-full-access/i);
      expect(result).toMatchObject({ success: true, response: 'DONE: wrote hello.txt', tokens_input: 200, tokens_output: 40 });
      expect(readFileSync(path.join(h.worktree.dir, 'hello.txt'), 'utf8')).toBe('hello from fake\n');
    });

    it('keeps a read-only role from writing', async () => {
      h.server.use({ kind: 'write', path: 'hello.txt', content: 'nope\n' });
      const result = await h.runner().run(h.request({ role: 'code-reviewer' }), { signal: h.signal() });
      h.recorder.save('write-read-only', h.lastEnd);
      expect(existsSync(path.join(h.worktree.dir, 'hello.txt'))).toBe(false);
      expect(result.success).toBe(true);
      expect(result.response).toMatch(/^FAILED: /);
    });

    it('stops a write outside the worktree as permission_denied', async () => {
      const outside = path.join(path.dirname(h.worktree.dir), `${path.basename(h.worktree.dir)}-outside.txt`);
      h.server.use({ kind: 'write', path: outside, content: 'escaped\n' });
      const model = quirks.writeOutside.model ?? target.model;
      const result = await h.runner().run(h.request({ role: 'implementer', model }), { signal: h.signal() });
      h.recorder.save('write-outside', h.lastEnd);
      expect(existsSync(outside)).toBe(false);
      // The model may claim success anyway: the attempt itself is the violation.
      expect(result).toMatchObject({ success: false, error_kind: 'permission_denied' });
      expect(result.error).toContain(quirks.writeOutside.error(outside));
    });

    it('stops a model repeating the same tool call as no_progress', async () => {
      await writeFile(path.join(h.worktree.dir, 'same.txt'), 'same\n');
      h.server.use({ kind: 'loop', path: 'same.txt' });
      const result = await h.runner().run(h.request({ role: 'planner' }), { signal: h.signal() });
      h.recorder.save('loop', h.lastEnd);
      expect(result.error_kind).toBe('no_progress');
      expect(result.error).toMatch(quirks.loopError);
    });

    it('reports the turn limit as no_progress', async () => {
      await writeFile(path.join(h.worktree.dir, 'same.txt'), 'same\n');
      h.server.use({ kind: 'loop', path: 'same.txt' });
      const result = await h.runner(common({ max_turns: 1, repeat_limit: 10 })).run(h.request({ role: 'planner' }), { signal: h.signal() });
      h.recorder.save('max-turns', h.lastEnd);
      expect(result.error_kind).toBe('no_progress');
      expectMessage(result.error, quirks.turnLimitError);
    });

    it.each(quirks.httpErrors)('classifies HTTP $status as $kind', async ({ status, kind, name, requests: count, http, retryAfterMs }) => {
      h.server.use({ kind: 'error', status, retryAfterSeconds: status === 429 ? 7 : undefined });
      const result = await h.runner().run(h.request({ role: 'planner' }), { signal: h.signal() });
      h.recorder.save(name, h.lastEnd);
      expect(result.retry_after_ms).toBe(retryAfterMs);
      // The server refused the call: no usage came back and nothing was answered, so nothing is charged.
      expect(result).toMatchObject({ success: false, error_kind: kind, ...nothingUsed });
      expect(result.http_status).toBe(http);
      expect(requests()).toHaveLength(count);
    });

    it('times out a server that never answers and leaves no process', async () => {
      h.server.use({ kind: 'hang' });
      const started = Date.now();
      const result = await h.runner().run(h.request({ role: 'planner', timeoutMs: quirks.timeoutMs }), { signal: h.signal() });
      h.recorder.save('hang', h.lastEnd);
      expect(result).toMatchObject({ error_kind: 'timeout', ...nothingUsed });
      expect(Date.now() - started).toBeLessThan(10_000);
    });

    it('times out a stream that stalls, keeping the partial events in the transcript and the event log', async () => {
      h.server.use({ kind: 'stall' });
      const events: unknown[] = [];
      const transcriptDir = path.join(h.worktree.dir, '.transcripts');
      const stalled = h.runner({}, { transcriptDir, onEvent: (e) => events.push(e.event) });
      const result = await stalled.run(h.request({ role: 'planner', timeoutMs: quirks.timeoutMs }), { signal: h.signal() });
      h.recorder.save('stall', h.lastEnd);
      expect(result).toMatchObject({ error_kind: 'timeout', ...quirks.stall.tokens });
      if (!quirks.stall.tokens.tokens_estimated) expect(result.cost_usd).toBe(0);
      expect(h.lastEnd?.stdout).toContain(quirks.stall.marker);
      expect(result.transcript).toBe(path.join(transcriptDir, 'E2E-1', `plan-planner-a1-t0-${target.runner}.jsonl`));
      expect(readFileSync(result.transcript ?? '', 'utf8')).toContain(quirks.stall.marker);
      expect(events).toEqual(quirks.stall.events.map((event): unknown => expect.objectContaining(event)));
    });

    it('is cancelled by its AbortSignal', async () => {
      h.server.use({ kind: 'hang' });
      const controller = new AbortController();
      setTimeout(() => controller.abort(), quirks.abortAfterMs);
      const result = await h.runner().run(h.request({ role: 'planner' }), { signal: controller.signal });
      expect(result.error_kind).toBe('cancelled');
    });

    it('passes a prompt too long for one argument through stdin', async () => {
      h.server.use({ kind: 'text', text: 'long ok' });
      const prompt = `${'x'.repeat(150_000)} END-OF-LONG-PROMPT`;
      const result = await h.runner().run(h.request({ role: 'planner', prompt }), { signal: h.signal() });
      expect(result).toMatchObject({ success: true, response: 'long ok' });
      expect(JSON.stringify(requests()[0]?.body)).toContain('END-OF-LONG-PROMPT');
    });

    it('reports a CLI missing from PATH', async () => {
      const command = `${target.cli}-not-installed-here`;
      const result = await h.runner(common({ command })).run(h.request({ role: 'planner' }), { signal: h.signal() });
      expect(result).toMatchObject({ success: false, error_kind: 'unavailable', tokens_input: 0 });
      expect(result.error).toContain(command);
    });

    it('refuses a version it was not tested with', async () => {
      const bin = await fakeCli(h.worktree.dir, target.cli, `echo '${quirks.version.line('9.9.9')}'`);
      const result = await h.runner(common({ command: bin })).run(h.request({ role: 'planner' }), { signal: h.signal() });
      expect(result.error_kind).toBe('unavailable');
      expect(result.error).toContain(`version 9.9.9, which tandem was not tested with (tested: ${quirks.version.tested})`);
    });

    it('classifies output that is not the JSON stream as bad_output', async () => {
      const bin = await standIn(`echo 'Welcome to Claude!'`);
      const result = await h.runner(common({ command: bin })).run(h.request({ role: 'planner' }), { signal: h.signal() });
      expect(result.error_kind).toBe('bad_output');
      expect(result.error).toContain('Welcome to Claude!');
    });

    it('classifies a CLI that dies as crashed, with its stderr', async () => {
      const bin = await standIn(`echo 'segfault-ish' >&2; exit 3`);
      const result = await h.runner(common({ command: bin })).run(h.request({ role: 'planner' }), { signal: h.signal() });
      expect(result.error_kind).toBe('crashed');
      expect(result.error).toContain('exited with code 3: segfault-ish');
    });
  });
}
