import { SpanStatusCode, type Attributes, type Span } from '@opentelemetry/api';
import type { Bus, Subscription } from '../bus/bus.js';
import { isTerminal, type TaskEvent, type TaskState } from '../model/task-events.js';
import { subject } from '../bus/subjects.js';
import { isTaskEvent } from './lifecycle-events.js';
import { Attr, ResultStatus, SpanName } from './span-attributes.js';
import { callSpans, spanTimes, validationAttributes } from './span-calls.js';
import { remoteParent, traceHeaders } from './trace-context.js';
import type { TaskSpans } from './span-index.js';
import type { TaskFactsLookup } from './task-facts.js';
import { hrTime, type Tracing } from './tracing.js';

type EventOf<T extends TaskEvent['type']> = Extract<TaskEvent, { type: T }>;

export interface BindTracingOptions {
  /** Adds the task's risk, area and type and the steps' type and risk, which events do not carry. */
  readonly facts?: TaskFactsLookup;
  /** Which events this process traces (see BindMetricsOptions.filter). */
  readonly filter?: (event: TaskEvent) => boolean;
  /**
   * The role services trace their own calls (`llm.call`, `quality_gate.run`) below the span named
   * in the call's headers (role-call-tracing.ts): this process builds the task's tree without them.
   */
  readonly callsTracedElsewhere?: boolean;
  /**
   * Where each task's `orchestrator.run` is remembered (per-task roots): a supervisor that takes a
   * task over, or picks it up after a person's decision, continues the task's one trace with a
   * resumed `task.run` below that root instead of starting a trace of its own.
   */
  readonly traces?: TaskTraces;
}

/** The W3C trace context of each task's root span, kept where every supervisor reads it. */
export interface TaskTraces {
  load(taskId: string): Promise<Readonly<Record<string, string>> | undefined>;
  save(taskId: string, headers: Readonly<Record<string, string>>): Promise<void>;
}

export interface TracingBinding extends Subscription {
  /** Stops listening and ends every span still open (as `interrupted`), before `tracing.shutdown()`. */
  close(): void;
  /** Ends a task's open spans (as `interrupted`): another supervisor drives it now, its spans are that one's. */
  interrupt(taskId: string): void;
}

const STEP_STATES: ReadonlySet<TaskState> = new Set(['IMPLEMENTING', 'CODE_REVIEW', 'QUALITY_GATE', 'STEP_COMPLETE']);

/** Each phase span: the state it covers, and the states that mean it went well when it is left for them. */
const PHASES = {
  plan: { state: 'PLANNING', success: ['PLAN_REVIEW'] },
  review_plan: { state: 'PLAN_REVIEW', success: ['PLANNED', ...STEP_STATES] },
  // A failed validation goes back to IMPLEMENTING: a retry of the phase, not a success.
  validate: { state: 'VALIDATING', success: ['DONE'] },
} as const satisfies Record<string, { state: TaskState; success: readonly TaskState[] }>;

/** How a phase that is left for `next` went. */
function leftFor(next: TaskState, success: TaskState[]): ResultStatus {
  if (next === 'AWAITING_HUMAN_REVIEW') return ResultStatus.humanRequired;
  if (next === 'FAILED') return ResultStatus.fail;
  if (next === 'ABORTED') return ResultStatus.aborted;
  return success.includes(next) ? ResultStatus.success : ResultStatus.retry;
}

const finalStatus = { DONE: ResultStatus.success, FAILED: ResultStatus.fail, ABORTED: ResultStatus.aborted } as const;

function statusOfEnd(state: TaskState): ResultStatus {
  return isTerminal(state) ? finalStatus[state] : ResultStatus.fail;
}

/**
 * Traces are built from the lifecycle events, as metrics are: whoever sees the events (the
 * embedded runtime, a supervisor service) produces the same span tree, and the machines stay
 * free of tracing code. Spans get explicit start and end times from the events' `at`.
 *
 *   orchestrator.run → task.run → task.plan / task.review_plan / step.run → llm.call, quality_gate.run
 */
export function bindTracing(bus: Bus, tracing: Tracing, options: BindTracingOptions = {}): TracingBinding {
  const { spans: index } = tracing;
  const { start, end } = spanTimes(tracing);
  const calls = callSpans({ start, end });
  const callsHere = options.callsTracedElsewhere !== true;
  // Plan rounds seen per task, for task.plan's and task.review_plan's result.attempt.
  const rounds = new Map<string, number>();

  const facts = async (taskId: string) => (options.facts ? await options.facts(taskId).catch(() => undefined) : undefined);

  async function taskOf(event: TaskEvent): Promise<TaskSpans> {
    const open = index.get(event.taskId);
    if (open) return open;
    const task = await facts(event.taskId);
    const traces = tracing.rootMode === 'task' ? options.traces : undefined;
    const earlier = traces ? remoteParent(await traces.load(event.taskId).catch(() => undefined)) : undefined;
    const root = tracing.rootMode === 'task' && !earlier ? start(SpanName.orchestratorRun, undefined, event.at, { [Attr.taskId]: event.taskId }) : undefined;
    if (root && traces) await traces.save(event.taskId, traceHeaders(root)).catch(() => undefined);
    const run = start(SpanName.taskRun, root ?? earlier ?? tracing.root, event.at, {
      [Attr.taskId]: event.taskId,
      ...(task ? { [Attr.taskRisk]: task.risk, [Attr.taskArea]: task.area, [Attr.taskType]: task.type, [Attr.taskPriority]: task.priority } : {}),
      // A task picked up again: resumed after a restart or a person's decision.
      [Attr.taskResumed]: !(event.type === 'task.state' && event.state === 'NEW'),
    });
    const spans: TaskSpans = { root, run, calls: new Map() };
    index.set(event.taskId, spans);
    return spans;
  }

  function endChildren(spans: TaskSpans, at: number, status: ResultStatus): void {
    for (const call of spans.calls.values()) end(call, at, status);
    spans.calls.clear();
    end(spans.gate, at, status);
    spans.gate = undefined;
    end(spans.phase?.span, at, status);
    spans.phase = undefined;
    end(spans.step?.span, at, status);
    spans.step = undefined;
  }

  function endTask(taskId: string, spans: TaskSpans, at: number, status: ResultStatus, attributes: Attributes = {}): void {
    endChildren(spans, at, status);
    end(spans.run, at, status, attributes);
    end(spans.root, at, status);
    index.delete(taskId);
    rounds.delete(taskId);
  }

  async function onState(event: EventOf<'task.state'>): Promise<void> {
    const spans = await taskOf(event);
    const { state, at } = event;
    // A pause (rate limit) interrupts a phase or a step without ending it: it goes on after.
    const paused = state === 'PAUSED';
    if (spans.phase && !paused && state !== PHASES[spans.phase.kind].state) {
      end(spans.phase.span, at, leftFor(state, [...PHASES[spans.phase.kind].success]));
      spans.phase = undefined;
    }
    if (spans.gate && state !== 'QUALITY_GATE') {
      end(spans.gate, at, leftFor(state, []));
      spans.gate = undefined;
    }
    const step = spans.step;
    if (step) {
      const sameStep = STEP_STATES.has(state) && step.id === event.stepId;
      if (step.completed && !(sameStep && state === 'STEP_COMPLETE')) {
        end(step.span, at);
        spans.step = undefined;
      } else if (!step.completed && !sameStep && !paused) {
        // Left without STEP_COMPLETE: a person skipped the step, or the task rests or ends.
        end(step.span, at, STEP_STATES.has(state) ? ResultStatus.skipped : leftFor(state, []), { [Attr.resultAttempt]: event.attempt });
        spans.step = undefined;
      }
    }
    if (state === 'AWAITING_HUMAN_REVIEW') {
      endTask(event.taskId, spans, at, ResultStatus.humanRequired, event.reason ? { [Attr.taskReason]: event.reason } : {});
      return;
    }
    if (state === 'PLANNING' && !spans.phase) {
      const round = (rounds.get(event.taskId) ?? 0) + 1;
      rounds.set(event.taskId, round);
      spans.phase = { kind: 'plan', span: start(SpanName.taskPlan, spans.run, at, { [Attr.taskId]: event.taskId, [Attr.resultAttempt]: round }) };
    } else if (state === 'PLAN_REVIEW' && !spans.phase) {
      const round = Math.max(1, rounds.get(event.taskId) ?? 0);
      spans.phase = { kind: 'review_plan', span: start(SpanName.taskReviewPlan, spans.run, at, { [Attr.taskId]: event.taskId, [Attr.resultAttempt]: round }) };
    } else if (state === 'VALIDATING' && !spans.phase) {
      spans.phase = { kind: 'validate', span: start(SpanName.taskValidate, spans.run, at, { [Attr.taskId]: event.taskId }) };
    }
    if (STEP_STATES.has(state) && event.stepId && !spans.step) {
      const known = await facts(event.taskId);
      const step = known?.steps.get(event.stepId);
      const complexity = largestComplexity(known?.steps.values() ?? []);
      if (complexity) spans.run.setAttribute(Attr.taskComplexity, complexity);
      const attributes: Attributes = {
        [Attr.taskId]: event.taskId,
        [Attr.stepId]: event.stepId,
        ...(event.stepIndex === undefined ? {} : { [Attr.stepIndex]: event.stepIndex }),
        ...(step
          ? {
              [Attr.stepType]: step.type,
              ...(step.risk ? { [Attr.stepRisk]: step.risk } : {}),
              ...(step.complexity ? { [Attr.stepComplexity]: step.complexity } : {}),
            }
          : {}),
      };
      spans.step = { id: event.stepId, span: start(SpanName.stepRun, spans.run, at, attributes), completed: false };
    }
    if (state === 'QUALITY_GATE' && !spans.gate && callsHere) {
      spans.gate = start(SpanName.qualityGateRun, spans.step?.span ?? spans.run, at, {
        [Attr.taskId]: event.taskId,
        ...(event.stepId ? { [Attr.stepId]: event.stepId } : {}),
        [Attr.resultAttempt]: event.attempt,
      });
    }
    if (state === 'STEP_COMPLETE' && spans.step && !spans.step.completed) {
      spans.step.completed = true;
      spans.step.span.setAttributes({ [Attr.resultStatus]: ResultStatus.success, [Attr.resultAttempt]: event.attempt });
    }
    if (isTerminal(state)) endChildren(spans, at, finalStatus[state]);
  }

  function parentOfCall(spans: TaskSpans, role: string): Span {
    if (role === 'planner' && spans.phase?.kind === 'plan') return spans.phase.span;
    if (role === 'plan-reviewer' && spans.phase?.kind === 'review_plan') return spans.phase.span;
    if (role === 'validator' && spans.phase?.kind === 'validate') return spans.phase.span;
    if ((role === 'implementer' || role === 'code-reviewer') && spans.step) return spans.step.span;
    return spans.run;
  }

  async function onRoleStarted(event: EventOf<'role.started'>): Promise<void> {
    const spans = await taskOf(event);
    end(spans.calls.get(event.role), event.at, ResultStatus.interrupted);
    spans.calls.set(event.role, calls.started(event, parentOfCall(spans, event.role)));
  }

  async function onRoleFinished(event: EventOf<'role.finished'>): Promise<void> {
    const spans = await taskOf(event);
    const open = spans.calls.get(event.role);
    spans.calls.delete(event.role);
    calls.finished(event, open, parentOfCall(spans, event.role));
  }

  /** The validator's checklist on the task's validate phase, wherever its call was traced. */
  async function onValidation(event: EventOf<'role.finished'>): Promise<void> {
    if (!event.validation) return;
    const spans = await taskOf(event);
    if (spans.phase?.kind === 'validate') spans.phase.span.setAttributes(validationAttributes(event.validation));
  }

  async function onGate(event: EventOf<'gate.finished'>): Promise<void> {
    const spans = await taskOf(event);
    const open = spans.gate;
    spans.gate = undefined;
    calls.gateFinished(event, open, spans.step?.span ?? spans.run);
  }

  async function onCommitted(event: EventOf<'step.committed'>): Promise<void> {
    const spans = await taskOf(event);
    const step = spans.step?.id === event.stepId ? spans.step.span : spans.run;
    step.addEvent('step.committed', { [Attr.stepId]: event.stepId, sha: event.sha, branch: event.branch }, hrTime(event.at));
    if (spans.step?.id === event.stepId) step.setAttribute(Attr.stepCommit, event.sha);
  }

  async function onFinished(event: EventOf<'task.finished'>): Promise<void> {
    const spans = await taskOf(event);
    const status = statusOfEnd(event.state);
    if (event.state === 'FAILED') spans.run.setStatus({ code: SpanStatusCode.ERROR, message: event.reason ?? 'the task failed' });
    endTask(event.taskId, spans, event.at, status, {
      [Attr.taskCostUsd]: event.cost_usd,
      [Attr.taskCommits]: event.commits.length,
      ...(event.branch ? { [Attr.taskBranch]: event.branch } : {}),
      ...(event.reason ? { [Attr.taskReason]: event.reason } : {}),
    });
  }

  const subscription = bus.subscribe(subject({ kind: 'events.all' }), async (message) => {
    if (!isTaskEvent(message) || (options.filter && !options.filter(message))) return;
    switch (message.type) {
      case 'task.state':
        return onState(message);
      case 'role.started':
        return callsHere ? onRoleStarted(message) : undefined;
      case 'role.finished':
        await onValidation(message);
        return callsHere ? onRoleFinished(message) : undefined;
      case 'gate.finished':
        return callsHere ? onGate(message) : undefined;
      case 'step.committed':
        return onCommitted(message);
      case 'task.finished':
        return onFinished(message);
      default:
        return;
    }
  });

  let closed = false;
  return {
    unsubscribe: () => subscription.unsubscribe(),
    interrupt(taskId) {
      const spans = index.get(taskId);
      if (spans) endTask(taskId, spans, tracing.now(), ResultStatus.interrupted);
    },
    close() {
      if (closed) return;
      closed = true;
      subscription.unsubscribe();
      const at = tracing.now();
      for (const taskId of index.taskIds()) {
        const spans = index.get(taskId);
        if (spans) endTask(taskId, spans, at, ResultStatus.interrupted);
      }
    },
  };
}

const complexityOrder = ['trivial', 'small', 'medium', 'large'];

/** The largest of the steps' estimated complexities (the plan's own scale), if any step has one. */
function largestComplexity(steps: Iterable<{ readonly complexity?: string | undefined }>): string | undefined {
  let largest: string | undefined;
  for (const { complexity } of steps) {
    if (complexity && (largest === undefined || complexityOrder.indexOf(complexity) > complexityOrder.indexOf(largest))) largest = complexity;
  }
  return largest;
}
