import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, mkdtemp, realpath, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ExecutionResult, RunRequest } from '../model/execution.js';
import type { AgentRunner } from './agent-runner.js';
import type { ClassifiedError } from './classify-error.js';
import { callFailure } from './cli-call-failure.js';
import { runCliProcess, type StopReason } from './cli-process.js';
import type { StreamOutcome, StreamParser } from './cli-stream.js';
import { watchStream } from './cli-stream-watch.js';
import type { VersionProbe } from './cli-version.js';
import { rememberedVersion } from './remembered-version.js';
import { LoopGuard } from './loop-guard.js';
import { costFromTokens, defaultPrices } from './pricing.js';
import { pricesOf, type CliSettings } from './runner-settings.js';
import { isTestedVersion, testedVersions, type CliRunnerName } from './versions.js';

/** argv and environment of one CLI call. */
interface CliInvocation {
  /** The complete argv, including the settings' extra `args` (each dialect knows where they may go). */
  readonly args: readonly string[];
  /** Added to the parent's environment (and the settings' `env`). */
  readonly env: Readonly<Record<string, string>>;
  /** A file the CLI reads as stdin (prompts too long for one argument). */
  readonly stdinFile?: string | undefined;
}

/** Files a dialect may create for one call; all of it is removed when the call ends. */
interface CallDirs {
  /** A fresh private temp dir for this call (schema files, settings files). */
  readonly scratch: string;
  /** The isolated HOME when `config_home: isolated`, inside `scratch`. */
  readonly home?: string | undefined;
  /** The call's TMPDIR, inside `scratch`: what the CLI and its tools leave in temp goes with the call. */
  readonly tmp: string;
}

/** What differs between the coding CLIs: how to call them and how to read their stream. */
export interface CliDialect<S extends CliSettings> {
  readonly name: CliRunnerName;
  readonly defaultCommand: string;
  prepare(request: RunRequest, settings: S, dirs: CallDirs): Promise<CliInvocation>;
  parser(request: RunRequest): StreamParser;
}

/** One event of a CLI's stream, for logs and live progress. */
export interface RunnerEvent {
  readonly runner: string;
  readonly taskId: string;
  readonly stepId?: string | undefined;
  readonly role: RunRequest['role'];
  readonly event: unknown;
}

export interface ProcessEnd {
  readonly runner: string;
  readonly request: RunRequest;
  readonly args: readonly string[];
  readonly exitCode: number | null;
  readonly signalName: string | null;
  readonly stopped?: { readonly reason: StopReason; readonly detail: string } | undefined;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
}

export interface CliRunnerOptions {
  /** Directory where each call's raw event stream is written as it arrives (JSONL). */
  readonly transcriptDir?: string | undefined;
  readonly onEvent?: ((event: RunnerEvent) => void) | undefined;
  /** Called when a CLI process has ended, with what it printed (for logs, and for recording fixtures). */
  readonly onProcessEnd?: ((end: ProcessEnd) => void) | undefined;
  /** Environment the CLIs inherit. Default: this process's. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
}

export interface CliRunner extends AgentRunner {
  /** The CLI's binary and version, probed on first use and remembered once found. */
  version(): Promise<VersionProbe>;
}

export function createCliRunner<S extends CliSettings>(dialect: CliDialect<S>, settings: S, options: CliRunnerOptions = {}): CliRunner {
  const command = settings.command ?? dialect.defaultCommand;
  const baseEnv = stringEnv(options.env ?? process.env);
  const version = rememberedVersion({
    runner: dialect.name,
    command,
    baseEnv,
    settingsEnv: settings.env,
    isolated: settings.config_home === 'isolated',
    timeoutMs: settings.version_timeout_ms,
  });

  async function call(request: RunRequest, signal: AbortSignal, started: number): Promise<ExecutionResult> {
    const finish = (fields: ResultFields): ExecutionResult => buildResult(dialect.name, settings, request, performance.now() - started, fields);
    const fail = (error: ClassifiedError, outcome?: StreamOutcome, transcript?: string): ExecutionResult => finish({ error, outcome, transcript });

    if (signal.aborted) return fail({ kind: 'cancelled', message: 'the call was cancelled before it started' });
    const cwdInfo = await stat(request.cwd).catch(() => undefined);
    if (!cwdInfo?.isDirectory()) return fail({ kind: 'crashed', message: `${dialect.name}: working directory does not exist: ${request.cwd}` });
    // A CLI may report paths under the worktree's real path (macOS: /var is /private/var).
    const roots = [...new Set([request.cwd, await realpath(request.cwd)])];

    const found = await version();
    // A probe that kept timing out is a slow machine, not a missing CLI: a timeout, which is tried again.
    if (!found.ok) return fail({ kind: found.reason === 'timeout' ? 'timeout' : 'unavailable', message: `${dialect.name}: ${found.message}` });
    if (!settings.allow_untested_version && !isTestedVersion(dialect.name, found.version)) {
      return fail({
        kind: 'unavailable',
        message: `${dialect.name}: ${command} is version ${found.version}, which tandem was not tested with (tested: ${testedVersions[dialect.name].join(', ')}); install a tested version or set runners.${dialect.name}.allow_untested_version: true`,
      });
    }

    const scratch = await mkdtemp(path.join(tmpdir(), `tandem-${dialect.name}-`));
    let transcript: WriteStream | undefined;
    let transcriptPath: string | undefined;
    try {
      const home = settings.config_home === 'isolated' ? path.join(scratch, 'home') : undefined;
      if (home !== undefined) await mkdir(home, { recursive: true });
      const tmp = path.join(scratch, 'tmp');
      await mkdir(tmp, { recursive: true });
      const invocation = await dialect.prepare(request, settings, { scratch, home, tmp });
      if (options.transcriptDir !== undefined) {
        transcriptPath = path.join(options.transcriptDir, transcriptName(dialect.name, request));
        await mkdir(path.dirname(transcriptPath), { recursive: true });
        transcript = createWriteStream(transcriptPath, { flags: 'a' });
        transcript.on('error', () => undefined);
      }
      const parser = dialect.parser(request);
      const stream = watchStream({
        parser,
        guard: new LoopGuard(settings.max_turns, settings.repeat_limit),
        roots,
        onLine: (line) => transcript?.write(`${line}\n`),
        onEvent: (event) => options.onEvent?.({ runner: dialect.name, taskId: request.taskId, stepId: request.stepId, role: request.role, event }),
      });
      // Gemini CLI writes an error report to the temp dir on every API error; Claude Code its sockets.
      const env: Record<string, string> = { ...baseEnv, TMPDIR: tmp, ...(home === undefined ? {} : { HOME: home }), ...settings.env, ...invocation.env };

      const args = invocation.args;
      const proc = await runCliProcess({
        command,
        args,
        stdinFile: invocation.stdinFile,
        cwd: request.cwd,
        env,
        timeoutMs: request.timeoutMs,
        signal,
        maxOutputBytes: settings.max_output_bytes,
        killGraceMs: settings.kill_grace_ms,
        onLine: stream.onLine,
      });
      if (!proc.started) return fail({ kind: 'crashed', message: `${dialect.name}: ${proc.message}` }, undefined, transcriptPath);
      options.onProcessEnd?.({
        runner: dialect.name,
        request,
        args,
        exitCode: proc.exitCode,
        signalName: proc.signalName,
        stopped: proc.stopped,
        stdout: proc.stdout,
        stderr: proc.stderr,
        durationMs: proc.durationMs,
      });

      const finished = parser.finish({ exitCode: proc.exitCode, stderr: proc.stderr, now: Date.now() });
      // Tokens are estimated only for a model that really answered (text, a structured answer or a tool
      // call) without reporting its usage. A call the server refused (429, 401, 503), one that never got an
      // answer, or a CLI that printed only its own events (codex's thread.started, turn.started) used none.
      const answered = stream.toolCalls > 0 || finished.text !== '' || finished.structured !== undefined;
      const outcome: StreamOutcome = !answered && finished.usage === undefined ? { ...finished, usage: { input: 0, output: 0 } } : finished;
      const failure = callFailure(dialect.name, proc, outcome, roots, stream.nonJson);
      if (failure) return fail(failure, outcome, transcriptPath);
      const response = outcome.structured !== undefined ? JSON.stringify(outcome.structured) : outcome.text;
      return finish({ response, outcome, transcript: transcriptPath });
    } finally {
      await new Promise<void>((resolve) => (transcript ? transcript.end(() => resolve()) : resolve()));
      await rm(scratch, { recursive: true, force: true, maxRetries: 3 });
    }
  }

  return {
    name: dialect.name,
    version,
    async run(request, { signal }) {
      const started = performance.now();
      try {
        return await call(request, signal, started);
      } catch (error) {
        // The port never throws for a failed call.
        const message = error instanceof Error ? error.message : String(error);
        return buildResult(dialect.name, settings, request, performance.now() - started, {
          error: { kind: signal.aborted ? 'cancelled' : 'crashed', message: `${dialect.name}: ${message}` },
        });
      }
    },
  };
}

function stringEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined) out[key] = value;
  return out;
}

function transcriptName(runner: string, request: RunRequest): string {
  const safe = (text: string): string => text.replace(/[^A-Za-z0-9._-]/g, '_');
  return path.join(safe(request.taskId), `${safe(request.stepId ?? 'plan')}-${request.role}-a${request.attempt}-t${request.try}-${runner}.jsonl`);
}

interface ResultFields {
  readonly response?: string;
  readonly outcome?: StreamOutcome | undefined;
  readonly error?: ClassifiedError;
  readonly transcript?: string | undefined;
}

/** Rough token count for text whose real count the CLI did not report. */
function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

function buildResult(runner: string, settings: CliSettings, request: RunRequest, latencyMs: number, fields: ResultFields): ExecutionResult {
  const response = fields.response ?? fields.outcome?.text ?? '';
  const usage = fields.outcome?.usage;
  // A call that never started its CLI used no tokens; one whose CLI reported none gets an estimate.
  const ran = fields.outcome !== undefined;
  const tokensIn = usage?.input ?? (ran ? estimateTokens(request.prompt) : 0);
  const tokensOut = usage?.output ?? (ran ? estimateTokens(response) : 0);
  const reported = fields.outcome?.costUsd;
  const priced =
    reported === undefined ? costFromTokens(request.model.model, tokensIn, tokensOut, { ...defaultPrices, ...pricesOf(settings.prices) }) : undefined;
  const error = fields.error;
  return {
    provider: request.model.provider,
    model: request.model.model,
    role: request.role,
    response,
    tokens_input: tokensIn,
    tokens_output: tokensOut,
    tokens_estimated: ran && usage === undefined,
    cost_usd: reported ?? priced ?? 0,
    cost_source: reported !== undefined ? 'reported' : priced !== undefined ? 'price_table' : 'unpriced',
    latency_ms: Math.max(0, Math.round(latencyMs)),
    success: error === undefined,
    ...(error === undefined ? {} : { error: error.message, error_kind: error.kind }),
    ...(error?.retryAfterMs === undefined ? {} : { retry_after_ms: error.retryAfterMs }),
    ...(error?.httpStatus === undefined ? {} : { http_status: error.httpStatus }),
    ...(fields.transcript === undefined ? {} : { transcript: fields.transcript }),
    runner,
  };
}
