import type { Bus } from '../bus/bus.js';
import type { Store } from '../store/store.js';
import type { TaskTraces } from '../telemetry/bind-tracing.js';
import type { WorkQueue } from '../queue/work-queue.js';
import type { RoleCallTracing } from '../telemetry/role-call-tracing.js';
import { traceHeaders } from '../telemetry/trace-context.js';
import type { Tracing } from '../telemetry/tracing.js';

/** How long a call waits for this process's spans to catch up with the task's events before it is sent. */
const CATCH_UP_MS = 1_000;

/**
 * The supervisor's side of one trace per task: the headers of a task's call name the task's open
 * span (its step, plan or plan review). The spans are built from the events this process published
 * on NATS, which come back asynchronously: the bus is flushed first (bounded), so the step the call
 * belongs to has its span.
 */
export function taskTraceHeaders(bus: Bus, tracing: Tracing): (taskId: string) => Promise<Record<string, string>> {
  return async (taskId) => {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      bus.flush().catch(() => undefined),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, CATCH_UP_MS);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
    return traceHeaders(tracing.spans.find({ task: taskId }));
  };
}

/** Each task's trace root in the shared store (`traces.<task>`), so that any supervisor continues it. */
export function storedTaskTraces(store: Store): TaskTraces {
  const key = (taskId: string): string => `traces.${taskId}`;
  return {
    async load(taskId) {
      const value = (await store.get(key(taskId)))?.value;
      // Anything else (a corrupt or foreign entry) starts a new trace: telemetry never stops a task.
      if (typeof value !== 'object' || value === null) return undefined;
      const traceparent = (value as Record<string, unknown>)['traceparent'];
      const tracestate = (value as Record<string, unknown>)['tracestate'];
      return typeof traceparent === 'string' ? { traceparent, ...(typeof tracestate === 'string' ? { tracestate } : {}) } : undefined;
    },
    async save(taskId, headers) {
      await store.put(key(taskId), { ...headers });
    },
  };
}

/** A role service's queue whose every delivery runs under the trace context in its headers. */
export function tracedRoleQueue(queue: WorkQueue, calls: RoleCallTracing): WorkQueue {
  return {
    spec: queue.spec,
    enqueue: (subject, message, options) => queue.enqueue(subject, message, options),
    consume: (handler, options) =>
      queue.consume((delivery) => {
        const taskId = 'taskId' in delivery.message ? delivery.message.taskId : undefined;
        return typeof taskId === 'string' ? calls.within(taskId, delivery.headers, async () => handler(delivery)) : handler(delivery);
      }, options),
    deadLetters: (limit) => queue.deadLetters(limit),
    close: () => queue.close(),
  };
}
