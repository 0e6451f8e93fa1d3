import type { Span } from '@opentelemetry/api';
import type { Bus } from '../bus/bus.js';
import type { BusMessage } from '../model/task-events.js';
import { isTaskEvent } from './lifecycle-events.js';
import { ResultStatus } from './span-attributes.js';
import { callSpans, spanTimes } from './span-calls.js';
import type { TaskSpans } from './span-index.js';
import { remoteParent } from './trace-context.js';
import type { Tracing } from './tracing.js';

export interface RoleCallTracing {
  /**
   * Runs one role call of `taskId` under the span its `headers` name (W3C `traceparent`): the
   * `llm.call` and `quality_gate.run` spans its events make are that span's children, and log lines
   * about the task carry the task's trace. Without a valid context the call makes no spans.
   */
  within<T>(taskId: string, headers: Readonly<Record<string, string>> | undefined, run: () => Promise<T>): Promise<T>;
  /** `bus`, except that the call's own events become spans as they are published (not after a trip through NATS). */
  observe(bus: Bus): Bus;
}

interface Registered {
  readonly parent: Span;
  readonly spans: TaskSpans;
  /** False when the task's spans are this process's supervisor's (`serve all`): they are left to it. */
  readonly own: boolean;
  depth: number;
}

/**
 * A role service's side of one trace per task: the supervisor sends its open span for the task
 * with each call (distributed/remote-executor.ts), the role service traces the call below it.
 */
export function traceRoleCalls(tracing: Tracing): RoleCallTracing {
  const times = spanTimes(tracing);
  const calls = callSpans(times);
  const registered = new Map<string, Registered>();

  const onEvent = (message: BusMessage): void => {
    if (!isTaskEvent(message)) return;
    const entry = registered.get(message.taskId);
    if (!entry) return;
    const open = entry.spans.calls;
    if (message.type === 'role.started') {
      times.end(open.get(message.role), message.at, ResultStatus.interrupted);
      open.set(message.role, calls.started(message, entry.parent));
    } else if (message.type === 'role.finished') {
      const span = open.get(message.role);
      open.delete(message.role);
      calls.finished(message, span, entry.parent);
    } else if (message.type === 'gate.finished') {
      calls.gateFinished(message, undefined, entry.parent);
    }
  };

  return {
    async within(taskId, headers, run) {
      const known = registered.get(taskId);
      const parent = known?.parent ?? remoteParent(headers);
      if (!parent) return run();
      let entry = known;
      if (!entry) {
        const existing = tracing.spans.get(taskId);
        entry = { parent, spans: existing ?? { run: parent, calls: new Map() }, own: existing === undefined, depth: 0 };
        registered.set(taskId, entry);
        if (entry.own) tracing.spans.set(taskId, entry.spans);
      }
      entry.depth++;
      try {
        return await run();
      } finally {
        if (--entry.depth === 0) {
          registered.delete(taskId);
          if (entry.own) {
            // A call cancelled or handed back ends without its role.finished.
            for (const span of entry.spans.calls.values()) times.end(span, tracing.now(), ResultStatus.interrupted);
            if (tracing.spans.get(taskId) === entry.spans) tracing.spans.delete(taskId);
          }
        }
      }
    },

    observe(bus) {
      return {
        publish(subject, message) {
          onEvent(message);
          return bus.publish(subject, message);
        },
        subscribe: (pattern, handler, options) => bus.subscribe(pattern, handler, options),
        flush: () => bus.flush(),
        close: () => bus.close(),
      };
    },
  };
}
