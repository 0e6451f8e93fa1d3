import { lstat, mkdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { systemClock } from '../platform/clock.js';
import type { Clock } from '../platform/clock.js';
import { errorMessage, InputError } from '../platform/errors.js';
import type { ErrorKind, ExecutionResult, RunRequest } from '../model/execution.js';
import type { AgentRunner } from './agent-runner.js';
import { ScriptSchema, scriptIssues, stepRoles } from './scripted-script.js';
import type { Script, ScriptEdit, ScriptInput, ScriptTask, ScriptTurn, ScriptTurns } from './scripted-script.js';

/** Every result of this runner carries this label, so a replayed answer is never taken for a model's. */
const scriptedRunnerLabel = 'scripted';

export interface ScriptedRunnerOptions {
  readonly script: ScriptInput;
  readonly clock?: Clock;
  readonly name?: string;
}

export interface ScriptedRunner extends AgentRunner {
  /** Every request received so far, in order; for tests to assert on. Never used to choose answers. */
  calls(): readonly RunRequest[];
}

export type ScriptSelection =
  | { readonly found: false; readonly path: string; readonly error: string }
  | {
      readonly found: true;
      /** Where in the script the answer sits, e.g. `tasks.DEMO-1.planner[0].before[1]`. */
      readonly source: string;
      /** A `before` item has a subset of a turn's fields, so both are read as a turn. */
      readonly answer: ScriptTurn;
      /** Edits belong to the turn's own answer only, never to a `before` item. */
      readonly edits: readonly ScriptEdit[];
    };

function taskTurns(task: ScriptTask | undefined, request: RunRequest): ScriptTurns | undefined {
  switch (request.role) {
    case 'implementer':
    case 'code-reviewer':
      return request.stepId === undefined ? undefined : task?.steps?.[request.stepId]?.[request.role];
    case 'planner':
    case 'plan-reviewer':
    case 'validator':
    case 'mediator':
      return task?.[request.role];
  }
}

function scriptPath(request: RunRequest): string {
  if (!stepRoles.has(request.role)) return `tasks.${request.taskId}.${request.role}`;
  return `tasks.${request.taskId}.steps.${request.stepId ?? '(no stepId)'}.${request.role}`;
}

/**
 * A script that never mentions the validator passes every validation: scripts written before the
 * validator existed keep their meaning, and a script tests the validator by giving its answers.
 */
const implicitPass: ScriptTurn = { respond: { pass: true, issues: [], confidence: 1, escalate: false } };

/**
 * The answer for a request. A pure function of (task, step, role, attempt, try): a supervisor that was
 * killed and repeats a call must get the same answer, so there is no cursor.
 */
export function selectAnswer(script: Script, request: RunRequest): ScriptSelection {
  const own = scriptPath(request);
  const ownTurns = taskTurns(script.tasks[request.taskId], request);
  const defaultTurns = script.defaults[request.role];
  const [base, turns] = ownTurns ? [own, ownTurns] : [`defaults.${request.role}`, defaultTurns];
  if (!turns && request.role === 'validator') return { found: true, source: 'the implicit validator pass', answer: implicitPass, edits: [] };
  if (!turns) return { found: false, path: own, error: `no scripted answer for ${own} (and no defaults.${request.role})` };
  const index = Math.min(Math.max(request.attempt, 1), turns.length) - 1;
  const turn = turns[index];
  if (!turn) return { found: false, path: own, error: `no scripted answer for ${base}[${index}]` };
  const before = turn.before ?? [];
  const early = before[request.try];
  if (early) return { found: true, source: `${base}[${index}].before[${request.try}]`, answer: early, edits: [] };
  return { found: true, source: `${base}[${index}]`, answer: turn, edits: turn.edits ?? [] };
}

type EditOutcome = { readonly ok: true } | { readonly ok: false; readonly kind: 'permission_denied' | 'crashed'; readonly message: string };

function isInside(root: string, target: string): boolean {
  const relative = path.relative(root, target);
  return relative !== '' && relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative);
}

/** Why `edit.path` may not be touched, or undefined when it is safely inside `root` (a real path). */
async function refusal(root: string, edit: ScriptEdit): Promise<string | undefined> {
  if (path.isAbsolute(edit.path)) return `${edit.path} is an absolute path`;
  const target = path.resolve(root, edit.path);
  if (!isInside(root, target)) return `${edit.path} is outside the working directory`;
  const segments = path.relative(root, target).split(path.sep);
  // The runtime owns the repository's git state; an edit there could rewrite history or hooks.
  if (segments[0] === '.git') return `${edit.path} is inside .git`;
  // Every existing prefix must really lie inside root, or a symlink could carry the write elsewhere.
  let current = root;
  for (const segment of segments) {
    current = path.join(current, segment);
    try {
      await lstat(current);
    } catch {
      return undefined;
    }
    let real: string;
    try {
      real = await realpath(current);
    } catch {
      return `${edit.path} goes through a dangling symlink`;
    }
    if (real !== root && !isInside(root, real)) return `${edit.path} leads outside the working directory through a symlink`;
  }
  return undefined;
}

async function readIfExists(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/**
 * Applies a turn's edits inside `cwd`. Every path is checked and every new content is computed before
 * the first write, so a refused or impossible edit leaves the working directory untouched.
 */
async function applyEdits(cwd: string, edits: readonly ScriptEdit[]): Promise<EditOutcome> {
  let root: string;
  try {
    root = await realpath(cwd);
  } catch (error) {
    return { ok: false, kind: 'crashed', message: `cannot use the working directory ${cwd}: ${errorMessage(error)}` };
  }
  for (const edit of edits) {
    const reason = await refusal(root, edit);
    if (reason) return { ok: false, kind: 'permission_denied', message: `scripted edit refused: ${reason}` };
  }
  // null means "delete"; later edits of the same file see earlier ones.
  const planned = new Map<string, string | null>();
  for (const edit of edits) {
    const target = path.resolve(root, edit.path);
    if (edit.content !== undefined) planned.set(target, edit.content);
    else if (edit.delete) planned.set(target, null);
    else if (edit.replace) {
      const current = planned.has(target) ? (planned.get(target) ?? null) : await readIfExists(target);
      if (current === null) return { ok: false, kind: 'crashed', message: `scripted edit failed: ${edit.path} does not exist, cannot replace in it` };
      const at = current.indexOf(edit.replace.from);
      if (at < 0) return { ok: false, kind: 'crashed', message: `scripted edit failed: ${edit.path} does not contain ${JSON.stringify(edit.replace.from)}` };
      planned.set(target, current.slice(0, at) + edit.replace.to + current.slice(at + edit.replace.from.length));
    }
  }
  for (const [target, content] of planned) {
    if (content === null) {
      // Deleting a missing file succeeds so that a repeated call behaves like the first one.
      await rm(target, { force: true });
    } else {
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, content, 'utf8');
    }
  }
  return { ok: true };
}

function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

function waitForAbort(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** Sleeps on the clock; false when the call was aborted meanwhile. */
async function pause(clock: Clock, ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await clock.sleep(ms, signal);
  } catch (error) {
    if (signal.aborted) return false;
    throw error;
  }
  return !signal.aborted;
}

interface ResultFields {
  readonly response?: string;
  readonly success: boolean;
  readonly error?: string;
  readonly error_kind?: ErrorKind;
  readonly retry_after_ms?: number;
}

function resultOf(request: RunRequest, latencyMs: number, fields: ResultFields): ExecutionResult {
  const response = fields.response ?? '';
  return {
    provider: request.model.provider,
    model: request.model.model,
    role: request.role,
    response,
    tokens_input: estimateTokens(request.prompt),
    tokens_output: estimateTokens(response),
    tokens_estimated: true,
    cost_usd: 0,
    latency_ms: Math.max(0, latencyMs),
    success: fields.success,
    ...(fields.error === undefined ? {} : { error: fields.error }),
    ...(fields.error_kind === undefined ? {} : { error_kind: fields.error_kind }),
    ...(fields.retry_after_ms === undefined ? {} : { retry_after_ms: fields.retry_after_ms }),
    runner: scriptedRunnerLabel,
  };
}

function validScript(input: ScriptInput): Script {
  const parsed = ScriptSchema.safeParse(input);
  if (!parsed.success) throw new InputError(scriptIssues(parsed.error, '<script object>'), { cause: parsed.error });
  return parsed.data;
}

/**
 * A runner that replays answers from a script (DESIGN §5), for tests, demos and benchmarks. It has no
 * model behind it: tokens are estimated from text length and cost nothing. Throws InputError when the
 * script object is invalid; never throws from `run`.
 */
export function createScriptedRunner(options: ScriptedRunnerOptions): ScriptedRunner {
  const script = validScript(options.script);
  const clock = options.clock ?? systemClock;
  const received: RunRequest[] = [];

  async function answer(request: RunRequest, signal: AbortSignal, started: number): Promise<ExecutionResult> {
    const finish = (fields: ResultFields): ExecutionResult => resultOf(request, clock.now() - started, fields);
    const cancelled = (): ExecutionResult => finish({ success: false, error: 'the call was cancelled', error_kind: 'cancelled' });

    if (signal.aborted) return cancelled();
    const selection = selectAnswer(script, request);
    if (!selection.found) return finish({ success: false, error: selection.error, error_kind: 'bad_output' });
    const { answer: chosen, source } = selection;
    const limitedFor = (chosen.rate_limited_until ?? 0) - clock.now();
    if (limitedFor > 0) {
      return finish({ success: false, error: `scripted rate limit (${source})`, error_kind: 'rate_limit', retry_after_ms: limitedFor });
    }

    if (chosen.delay_ms !== undefined && chosen.delay_ms > 0 && !(await pause(clock, chosen.delay_ms, signal))) return cancelled();
    if (chosen.hang) {
      await waitForAbort(signal);
      return cancelled();
    }
    if (chosen.fail !== undefined) {
      return finish({
        success: false,
        error: `${chosen.message ?? `scripted ${chosen.fail}`} (${source})`,
        error_kind: chosen.fail,
        retry_after_ms: chosen.retry_after_ms,
      });
    }
    if (chosen.raw !== undefined) return finish({ success: true, response: chosen.raw });

    if (selection.edits.length > 0) {
      if (!request.allowEdits) {
        return finish({ success: false, error: `scripted edit refused: the ${request.role} may not edit files (${source})`, error_kind: 'permission_denied' });
      }
      const outcome = await applyEdits(request.cwd, selection.edits);
      if (!outcome.ok) return finish({ success: false, error: `${outcome.message} (${source})`, error_kind: outcome.kind });
    }
    return finish({ success: true, response: chosen.respond_text ?? JSON.stringify(chosen.respond) });
  }

  return {
    name: options.name ?? scriptedRunnerLabel,
    simulated: true,
    calls: () => [...received],
    async run(request, { signal }) {
      received.push(Object.freeze({ ...request }));
      const started = clock.now();
      try {
        return await answer(request, signal, started);
      } catch (error) {
        // The port never throws for a failed call; an unexpected error is a crash of this "model".
        return resultOf(request, clock.now() - started, {
          success: false,
          error: errorMessage(error),
          error_kind: signal.aborted ? 'cancelled' : 'crashed',
        });
      }
    },
  };
}
