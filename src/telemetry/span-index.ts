import type { Span } from '@opentelemetry/api';

/** The spans open for one task: one phase (plan, plan review or validation) or one step, a gate run, calls by role. */
export interface TaskSpans {
  /** The per-task `orchestrator.run` when each task is its own trace. */
  root?: Span | undefined;
  run: Span;
  phase?: { readonly span: Span; readonly kind: 'plan' | 'review_plan' | 'validate' } | undefined;
  /** `completed` from STEP_COMPLETE on; the span still covers the commit, until the next state. */
  step?: { readonly span: Span; readonly id: string; completed: boolean } | undefined;
  gate?: Span | undefined;
  readonly calls: Map<string, Span>;
}

/** Fields a log line may carry that say which work it is about (see runtime logEvent). */
export interface LogContext {
  readonly task?: unknown;
  readonly step?: unknown;
  readonly role?: unknown;
}

/**
 * Open spans by task. The trace binder keeps it current; log lines look their span up here, so a
 * line about task T1's implementer carries the trace and span id of that very llm.call.
 */
export class SpanIndex {
  readonly #tasks = new Map<string, TaskSpans>();

  get(taskId: string): TaskSpans | undefined {
    return this.#tasks.get(taskId);
  }

  set(taskId: string, spans: TaskSpans): void {
    this.#tasks.set(taskId, spans);
  }

  delete(taskId: string): void {
    this.#tasks.delete(taskId);
  }

  taskIds(): string[] {
    return [...this.#tasks.keys()];
  }

  /** The most specific open span for a log line's context, or undefined when its task has none. */
  find(context: LogContext): Span | undefined {
    if (typeof context.task !== 'string') return undefined;
    const spans = this.#tasks.get(context.task);
    if (!spans) return undefined;
    const call = typeof context.role === 'string' ? spans.calls.get(context.role) : undefined;
    if (call) return call;
    if (spans.gate && (context.role === undefined || context.role === 'quality-gate')) return spans.gate;
    if (spans.step && (context.step === undefined || context.step === spans.step.id)) return spans.step.span;
    return spans.phase?.span ?? spans.run;
  }
}
