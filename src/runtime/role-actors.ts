import { fromPromise } from 'xstate';
import type { z } from 'zod';
import { codeReviewerPrompt } from '../agents/prompts/code-reviewer.js';
import { jsonSchemaOf } from '../agents/prompts/common.js';
import { implementerPrompt } from '../agents/prompts/implementer.js';
import { planReviewerPrompt } from '../agents/prompts/plan-reviewer.js';
import { plannerPrompt } from '../agents/prompts/planner.js';
import { callRole, type RoleOutcome } from '../roles/pipeline/run-with-retry.js';
import type { AgentRunner, ExecutionResult, ModelRef, Role } from '../agents/runners/agent-runner.js';
import { CodeReviewSchema, ImplementationReportSchema, PlanReviewSchema, PlanSchema, type ImplementationReport, type Plan, type PlanStep } from '../agents/schemas.js';
import { extractJson, schemaParser } from '../agents/parse-output.js';
import type { Bus } from '../bus/bus.js';
import type { TaskEvent } from '../bus/messages.js';
import { subject } from '../bus/subjects.js';
import type { Clock } from '../clock.js';
import type { Limits } from '../config/schema.js';
import type { QualityGate } from '../gate/report.js';
import type {
  CodeReviewInput,
  CommitInput,
  CommitOutput,
  GateInput,
  Implementation,
  ImplementInput,
  PlanInput,
  PlanReviewInput,
  PrepareInput,
  PrepareOutput,
  RoleFailureKind,
  RoleResult,
  WaitInput,
} from '../machines/supervisor-contracts.js';
import type { LedgerEntry } from '../routing/cost-ledger.js';
import { fromNanos, parseModelKey, toNanos } from '../routing/model-registry.js';
import type { RouteChoice, RouteRefusal } from '../routing/router.js';
import type { Routing } from '../routing/routing.js';
import type { TaskSpec } from '../tasks/schema.js';
import type { Logger } from '../telemetry/logger.js';
import type { GateReport } from '../gate/report.js';
import type { Workspace } from '../workspace/workspace.js';
import { localExecutor, type Checkpoint, type WorkOptions, type RoleExecutor, type RoleWork, type RoleWorkInput, type RoleWorkName, type RoleWorkOutput } from './role-executor.js';

export interface RoleWorkDeps {
  readonly runners: ReadonlyMap<string, AgentRunner>;
  /** Picks each call's model, records its cost, limits and watches each model (src/routing). */
  readonly routing: Routing;
  readonly limits: Limits;
  readonly clock: Clock;
  readonly bus: Bus;
  readonly gate: QualityGate;
  readonly workspace: Workspace;
  /** Every runner call, after the ledger recorded it. */
  readonly onCall?: (call: { taskId: string; stepId?: string | undefined; result: ExecutionResult; entry: LedgerEntry }) => void;
  readonly random?: () => number;
  readonly logger?: Logger;
}

export interface RoleActorDeps extends RoleWorkDeps {
  /**
   * Resolves once the snapshot that started this actor is durably stored (persist before effects),
   * with the ordinal of the invocation it records: the same after a restart, new for every call.
   */
  readonly checkpoint: (taskId: string) => Promise<Checkpoint>;
  /** Where role work runs: here (default) or on role services over the bus. */
  readonly executor?: RoleExecutor;
}

/** Clipped patch kept in the snapshot; reviewers read the full diff from the worktree. */
const SNAPSHOT_PATCH_LIMIT = 16_000;

/** Failures another model may not share: its fallback chain gets the call (seed 000: Flash → Haiku). */
const fallbackKinds: ReadonlySet<RoleFailureKind> = new Set(['rate_limit', 'timeout', 'overloaded', 'crashed', 'auth', 'unavailable']);

/** A refusal names no model; events and the task record still need one. */
const noModel: ModelRef = { provider: 'none', model: 'none', runner: 'none' };

type Failure = Extract<RoleResult<never>, { ok: false }>;

/**
 * The effects of the supervisor machine, built over the ports. Each actor first waits for the
 * checkpoint of the transition that started it, so a crash never leaves an effect whose state
 * was not recorded; and each one is safe to run again after a restart. The role work itself runs
 * through the executor: in this process, or on a role service that stores its result by the
 * invocation's key (so a re-sent call after a restart gets that result, not a second model call).
 */
export function createRoleActors(deps: RoleActorDeps) {
  const work = createRoleWork(deps);
  const executor = deps.executor ?? localExecutor(work);
  const remote = <K extends RoleWorkName>(name: K, taskId: (input: RoleWorkInput<K>) => string) =>
    fromPromise<RoleWorkOutput<K>, RoleWorkInput<K>>(async ({ input, signal }) => {
      const id = taskId(input);
      const { invocation } = await deps.checkpoint(id);
      return executor.run(name, input, { taskId: id, invocation, signal });
    });
  const prepare = fromPromise<PrepareOutput, PrepareInput>(async ({ input, signal }) => {
    await deps.checkpoint(input.taskId);
    return work.prepare(input, signal);
  });
  const commit = fromPromise<CommitOutput, CommitInput>(async ({ input, signal }) => {
    await deps.checkpoint(input.taskId);
    return work.commit(input, signal);
  });
  const wait = fromPromise<void, WaitInput>(async ({ input, signal }) => {
    await deps.clock.sleep(Math.max(0, input.until - deps.clock.now()), signal);
  });
  return {
    prepare,
    plan: remote('plan', (input) => input.task.id),
    reviewPlan: remote('reviewPlan', (input) => input.task.id),
    implement: remote('implement', (input) => input.task.id),
    reviewCode: remote('reviewCode', (input) => input.task.id),
    gate: remote('gate', (input) => input.taskId),
    commit,
    wait,
  };
}

/**
 * The role work without the machine: plain async functions of JSON input, so that a role service
 * can run them for a supervisor in another process. Prepare and commit stay with the supervisor.
 */
export function createRoleWork(deps: RoleWorkDeps): RoleWork {
  const { routing } = deps;
  const publish = (event: TaskEvent): void => {
    void deps.bus.publish(subject({ kind: 'events', taskId: event.taskId, event: event.type }), event).catch(() => undefined);
  };

  /**
   * One role call: routed (pin, matrix or history; diversity; budgets), made within the model's
   * concurrency limit, every runner call recorded in the ledger before the result moves the
   * machine, and on a failure another model may not share, passed down the model's fallback
   * chain (each model at most once, so it cannot loop).
   */
  async function runRole<T>(input: {
    role: Exclude<Role, 'mediator'>;
    taskId: string;
    stepId?: string | undefined;
    attempt: number;
    prompt: string;
    cwd: string;
    schema?: z.ZodType | undefined;
    parse: (text: string) => { ok: true; value: T } | { ok: false; error: string };
    signal: AbortSignal;
    task: TaskSpec;
    step?: PlanStep | undefined;
    authorModel?: string | undefined;
    budgetGrantUsd?: number | undefined;
  }): Promise<RoleResult<T>> {
    await routing.ready();
    // In distributed mode other processes spend too; a failed look keeps the spend known so far.
    await routing.ledger.sync().catch((error: unknown) => deps.logger?.warn({ err: error, task: input.taskId, role: input.role }, 'could not read the spend of other processes; budgets use what this one knows'));
    const author = input.authorModel === undefined ? undefined : parseModelKey(input.authorModel);
    const tried: string[] = [];
    let spentNanos = 0;
    let estimatedNanos = 0;
    let fallbackFrom: { name: string; reason: string } | undefined;
    let lastFailure: Failure | undefined;
    const withCost = (failure: Failure): Failure => ({ ...failure, costUsd: fromNanos(spentNanos), estimatedUsd: fromNanos(estimatedNanos) });
    // Each hop tries a model not tried before, so the registry's size bounds the loop.
    for (let hop = 0; hop <= routing.registry.names().length; hop++) {
      const decision = routing.router.route({
        role: input.role,
        task: input.task,
        step: input.step,
        author,
        promptChars: input.prompt.length,
        budgetGrantUsd: input.budgetGrantUsd,
        fallbackFrom,
        tried,
      });
      if (!decision.ok) {
        deps.logger?.warn({ task: input.taskId, step: input.stepId, role: input.role, kind: decision.kind, reason: decision.reason }, `no model for the ${input.role}: ${decision.kind}`);
        publish({ type: 'role.refused', taskId: input.taskId, at: deps.clock.now(), stepId: input.stepId, role: input.role, kind: decision.kind, reason: decision.reason, task_risk: decision.risk, task_area: decision.area });
        // A fallback chain that ran out leaves the last model's failure (a rate limit pauses the task).
        if (lastFailure) return withCost(lastFailure);
        return withCost(refusalResult(decision));
      }
      const runner = deps.runners.get(decision.ref.runner);
      if (!runner) return withCost({ ok: false, kind: 'unavailable', error: `no runner named "${decision.ref.runner}" is configured`, model: decision.ref, costUsd: 0 });
      const segment = await callModel(input, decision, runner, fallbackFrom !== undefined);
      spentNanos += segment.nanos;
      estimatedNanos += segment.estimatedNanos;
      const { outcome } = segment;
      if (outcome.ok) return { ok: true, value: outcome.value, model: decision.ref, costUsd: fromNanos(spentNanos), estimatedUsd: fromNanos(estimatedNanos) };
      const failure: Failure = {
        ok: false,
        kind: outcome.kind,
        error: outcome.error,
        retryAfterMs: outcome.retryAfterMs,
        retryAt: outcome.kind === 'rate_limit' ? deps.clock.now() + (outcome.retryAfterMs ?? 60_000) : undefined,
        model: decision.ref,
        costUsd: 0,
      };
      if (!fallbackKinds.has(outcome.kind) || decision.name === undefined || input.signal.aborted) return withCost(failure);
      tried.push(decision.key);
      fallbackFrom = { name: decision.name, reason: `${outcome.kind}: ${outcome.error}` };
      lastFailure = failure;
    }
    return withCost(lastFailure ?? { ok: false, kind: 'crashed', error: 'no model left to fall back to', model: noModel, costUsd: 0 });
  }

  function refusalResult(decision: RouteRefusal): Failure {
    const model = decision.preferred ?? noModel;
    switch (decision.kind) {
      case 'budget':
        return { ok: false, kind: 'budget', error: decision.reason, model, costUsd: 0 };
      case 'unavailable': {
        // Every fit model is rate limited or its circuit is open: wait like a rate limit, spending no attempt.
        const retryAt = decision.retryAt ?? deps.clock.now() + 60_000;
        return { ok: false, kind: 'rate_limit', error: decision.reason, retryAfterMs: Math.max(0, retryAt - deps.clock.now()), retryAt, model, costUsd: 0 };
      }
      case 'none':
        return { ok: false, kind: 'crashed', error: decision.reason, model, costUsd: 0 };
    }
  }

  /** One model's share of a role call, with its own role.started / role.finished pair. */
  async function callModel<T>(
    input: Parameters<typeof runRole<T>>[0],
    decision: RouteChoice,
    runner: AgentRunner,
    afterFailure: boolean,
  ): Promise<{ outcome: RoleOutcome<T>; nanos: number; estimatedNanos: number }> {
    const model = decision.ref;
    const started = deps.clock.now();
    publish({
      type: 'role.started',
      taskId: input.taskId,
      at: started,
      stepId: input.stepId,
      role: input.role,
      provider: model.provider,
      model: model.model,
      runner: runner.name,
      attempt: input.attempt,
      routing: {
        model_name: decision.name,
        source: decision.source,
        reason: decision.reason,
        task_risk: decision.risk,
        task_area: decision.area,
        step_type: decision.stepType,
        complexity: decision.complexity.score,
        estimate_usd: decision.estimateUsd,
      },
    });
    deps.logger?.info(
      { task: input.taskId, step: input.stepId, role: input.role, model: model.model, model_name: decision.name, source: decision.source, risk: decision.risk, area: decision.area, complexity: decision.complexity.score, reason: decision.reason },
      `routed the ${input.role} to ${decision.key} (${decision.source})`,
    );
    let tokensIn = 0;
    let tokensOut = 0;
    let nanos = 0;
    let estimatedNanos = 0;
    let estimated = false;
    let replays = 0;
    let writeError: Error | undefined;
    const writes: Promise<void>[] = [];
    let release: (() => void) | undefined;
    let outcome: RoleOutcome<T>;
    // The call's estimate counts against the budgets while it runs, so parallel tasks cannot all pass
    // a daily budget at once; each recorded try replaces it with the real cost.
    let hold: { release(): void } | undefined = routing.ledger.reserve(input.taskId, decision.estimateUsd);
    try {
      release = await routing.limiter.acquire(decision.key, input.signal);
      routing.breaker.begin(decision.key);
      outcome = await callRole<T>({
        runner,
        request: {
          role: input.role,
          taskId: input.taskId,
          stepId: input.stepId,
          attempt: input.attempt,
          prompt: input.prompt,
          outputSchema: input.schema ? jsonSchemaOf(input.schema) : undefined,
          cwd: input.cwd,
          model,
          allowEdits: input.role === 'implementer',
          timeoutMs: deps.limits.role_timeout_ms,
        },
        parse: input.parse,
        clock: deps.clock,
        // A fallback model gets no transient retries of its own (seed 000: "no retries on fallback").
        limits: afterFailure ? { ...deps.limits, max_transient_retries: 0 } : deps.limits,
        signal: input.signal,
        random: deps.random,
        beforeRetry: (prompt) => {
          const fits = routing.router.retryFits({ role: input.role, task: input.task, key: decision.key, promptChars: prompt.length, budgetGrantUsd: input.budgetGrantUsd });
          if (!fits.ok) return fits.reason;
          hold = routing.ledger.reserve(input.taskId, fits.estimateUsd);
          return undefined;
        },
        onResult: (result, tryIndex) => {
          hold?.release();
          hold = undefined;
          if (result.replayed === true) {
            // Paid and recorded when it was first made; only its tokens count for this event.
            routing.breaker.abandon(decision.key);
            tokensIn += result.tokens_input;
            tokensOut += result.tokens_output;
            replays++;
            return;
          }
          const { entry, stored } = routing.ledger.record({
            taskId: input.taskId,
            stepId: input.stepId,
            role: input.role,
            attempt: input.attempt,
            try: tryIndex,
            modelName: decision.name,
            risk: decision.risk,
            area: decision.area,
            result,
          });
          writes.push(stored.catch((error: unknown) => void (writeError ??= error instanceof Error ? error : new Error(String(error)))));
          tokensIn += result.tokens_input;
          tokensOut += result.tokens_output;
          nanos += toNanos(entry.usd);
          if (result.tokens_estimated) estimatedNanos += toNanos(entry.usd);
          estimated ||= result.tokens_estimated;
          if (result.error_kind === 'cancelled') routing.breaker.abandon(decision.key);
          else routing.breaker.record(decision.key, { success: result.success, kind: result.error_kind, retryAfterMs: result.retry_after_ms });
          deps.onCall?.({ taskId: input.taskId, stepId: input.stepId, result, entry });
        },
      });
    } catch {
      // Only the wait for a slot throws: the call was cancelled before it started.
      routing.breaker.abandon(decision.key);
      outcome = { ok: false, kind: 'cancelled', error: 'cancelled', tries: 0, results: [] };
    } finally {
      hold?.release();
      release?.();
    }
    // The ledger entries are durable before the result moves the machine (and its budget checks).
    await Promise.all(writes);
    if (writeError !== undefined) throw writeError;
    const last = outcome.results.at(-1);
    publish({
      type: 'role.finished',
      taskId: input.taskId,
      at: deps.clock.now(),
      stepId: input.stepId,
      role: input.role,
      provider: model.provider,
      model: model.model,
      runner: last?.runner ?? runner.name,
      attempt: input.attempt,
      tries: Math.max(1, outcome.tries),
      success: outcome.ok,
      verdict: outcome.ok ? verdictOf(outcome.value) : undefined,
      detail: outcome.ok ? detailOf(outcome.value) : undefined,
      error_kind: outcome.ok ? undefined : outcome.kind,
      error: outcome.ok ? undefined : outcome.error,
      tokens_input: tokensIn,
      tokens_output: tokensOut,
      tokens_estimated: estimated,
      cost_usd: fromNanos(nanos),
      latency_ms: deps.clock.now() - started,
      ...(replays > 0 && replays === outcome.results.length ? { replayed: true } : {}),
    });
    return { outcome, nanos, estimatedNanos };
  }

  const prepare = async (input: PrepareInput): Promise<PrepareOutput> => {
    const ref = await deps.workspace.ensure(input);
    return { worktreePath: ref.path, branch: ref.branch };
  };

  const plan = async (input: PlanInput, signal: AbortSignal): Promise<RoleResult<Plan>> => {
    const snapshot = await deps.workspace.snapshot(input.worktreePath, input.task.context_files, signal);
    const result = await runRole({
      role: 'planner',
      taskId: input.task.id,
      attempt: input.call,
      prompt: plannerPrompt({ task: input.task, snapshot, feedback: input.feedback, round: input.round }),
      cwd: input.worktreePath,
      schema: PlanSchema,
      parse: schemaParser(PlanSchema),
      signal,
      task: input.task,
      budgetGrantUsd: input.budgetGrantUsd,
    });
    // The plan is the task's, whatever id the model wrote into it.
    return result.ok ? { ...result, value: { ...result.value, task_id: input.task.id, plan_version: input.round } } : result;
  };

  const reviewPlan = async (input: PlanReviewInput, signal: AbortSignal): Promise<RoleResult<z.infer<typeof PlanReviewSchema>>> => {
    return runRole({
      role: 'plan-reviewer',
      taskId: input.task.id,
      attempt: input.call,
      prompt: planReviewerPrompt({ task: input.task, plan: input.plan }),
      cwd: input.worktreePath,
      schema: PlanReviewSchema,
      parse: schemaParser(PlanReviewSchema),
      signal,
      task: input.task,
      authorModel: input.authorModel,
      budgetGrantUsd: input.budgetGrantUsd,
    });
  };

  const implement = async (input: ImplementInput, signal: AbortSignal, options: WorkOptions = {}): Promise<RoleResult<Implementation>> => {
    // Every attempt starts from the last accepted commit, so a re-run after a crash or a retry
    // after a failed review always sees the same starting point. A call whose model already
    // answered (its edits are in the worktree, its answer stored) is finished, not started over.
    if (options.resumed !== true) await deps.workspace.reset(input.worktreePath);
    const result = await runRole<ImplementationReport>({
      role: 'implementer',
      taskId: input.task.id,
      stepId: input.step.id,
      attempt: input.attempt,
      prompt: implementerPrompt(input),
      cwd: input.worktreePath,
      schema: ImplementationReportSchema,
      parse: parseImplementationReport,
      signal,
      task: input.task,
      step: input.step,
      budgetGrantUsd: input.budgetGrantUsd,
    });
    if (!result.ok) return result;
    const diff = await deps.workspace.diff(input.worktreePath);
    return {
      ...result,
      value: {
        report: result.value,
        diff: {
          fingerprint: diff.fingerprint,
          files: diff.files.map((f) => f.path),
          insertions: diff.insertions,
          deletions: diff.deletions,
          patch: diff.patch.length > SNAPSHOT_PATCH_LIMIT ? `${diff.patch.slice(0, SNAPSHOT_PATCH_LIMIT)}\n… [truncated]` : diff.patch,
        },
      },
    };
  };

  const reviewCode = async (input: CodeReviewInput, signal: AbortSignal): Promise<RoleResult<z.infer<typeof CodeReviewSchema>>> => {
    const diff = await deps.workspace.diff(input.worktreePath);
    return runRole({
      role: 'code-reviewer',
      taskId: input.task.id,
      stepId: input.step.id,
      attempt: input.attempt,
      prompt: codeReviewerPrompt({ task: input.task, step: input.step, patch: diff.patch, explanation: input.implementation.report.explanation }),
      cwd: input.worktreePath,
      schema: CodeReviewSchema,
      parse: schemaParser(CodeReviewSchema),
      signal,
      task: input.task,
      step: input.step,
      authorModel: input.authorModel,
      budgetGrantUsd: input.budgetGrantUsd,
    });
  };

  const gate = async (input: GateInput, signal: AbortSignal): Promise<GateReport> => {
    const report = await deps.gate.run({ cwd: input.worktreePath, taskId: input.taskId, stepId: input.stepId, baseCommit: input.baseCommit, signal });
    publish({
      type: 'gate.finished',
      taskId: input.taskId,
      at: deps.clock.now(),
      stepId: input.stepId,
      attempt: input.attempt,
      passed: report.passed,
      summary: report.summary,
      duration_ms: report.duration_ms,
      checks: report.checks.map((c) => ({ name: c.name, passed: c.passed, duration_ms: c.duration_ms, ...(c.passed ? {} : { excerpt: tellingLines(c.excerpt) }) })),
    });
    return report;
  };

  const commit = async (input: CommitInput): Promise<CommitOutput> => {
    if (input.skip) {
      await deps.workspace.reset(input.worktreePath);
      return {};
    }
    const { sha } = await deps.workspace.commit(input.worktreePath, {
      taskId: input.taskId,
      stepId: input.step.id,
      attempt: input.attempt,
      message: `${input.step.id}: ${firstLine(input.step.description)}`,
      trailers: input.trailers,
      baseCommit: input.baseCommit,
    });
    return { sha };
  };

  return { prepare, plan, reviewPlan, implement, reviewCode, gate, commit };
}

/** Coding CLIs often answer the implementer prompt in prose; the diff is what counts. */
function parseImplementationReport(text: string): { ok: true; value: ImplementationReport } {
  const json = extractJson(text);
  if (json.ok) {
    const parsed = ImplementationReportSchema.safeParse(json.value);
    if (parsed.success) return { ok: true, value: parsed.data };
  }
  return { ok: true, value: { explanation: text.trim().slice(0, 4_000), confidence: 0.5, breaking_change: false } };
}

function verdictOf(value: unknown): string | undefined {
  if (typeof value === 'object' && value !== null) {
    if ('status' in value && typeof value.status === 'string') return value.status;
    if ('steps' in value && Array.isArray(value.steps)) return `plan with ${value.steps.length} step${value.steps.length === 1 ? '' : 's'}`;
    if ('confidence' in value && typeof value.confidence === 'number') return `confidence ${value.confidence}`;
  }
  return undefined;
}

/**
 * The start of a failed check's excerpt (the gate puts what regressed first), without its command
 * header, for people watching; the implementer still gets the whole excerpt.
 */
export function tellingLines(excerpt: string): string {
  const lines = excerpt.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('$ '));
  return lines.slice(0, 8).map((l) => l.slice(0, 160)).join('\n').slice(0, 2_000);
}

/** The points a non-approving review raised, on one line. */
function detailOf(value: unknown): string | undefined {
  const parsedCode = CodeReviewSchema.safeParse(value);
  if (parsedCode.success && parsedCode.data.status !== 'approved') {
    const r = parsedCode.data.review;
    return clipLine([...r.required_changes, ...r.security_issues].join('; '));
  }
  const parsedPlan = PlanReviewSchema.safeParse(value);
  if (parsedPlan.success && parsedPlan.data.status !== 'approved') {
    const r = parsedPlan.data.review;
    return clipLine([...r.missing_steps, ...r.concerns].join('; '));
  }
  return undefined;
}

function clipLine(text: string): string | undefined {
  const line = text.replace(/\s+/g, ' ').trim();
  if (line === '') return undefined;
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}

function firstLine(text: string): string {
  const line = text.split('\n')[0]?.trim() ?? '';
  return line.length > 72 ? `${line.slice(0, 69)}...` : line;
}
