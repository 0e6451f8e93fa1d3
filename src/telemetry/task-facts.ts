import { z } from 'zod';
import type { Store } from '../store/store.js';
import { TaskRecordSchema, taskKey } from '../model/task-record.js';

/** What traces and routing metrics say about a task beyond what its lifecycle events carry. */
interface StepFacts {
  readonly type: string;
  readonly risk?: string | undefined;
  readonly complexity?: string | undefined;
}

export interface TaskFacts {
  readonly risk: string;
  readonly area: string;
  readonly type: string;
  readonly priority: string;
  readonly steps: ReadonlyMap<string, StepFacts>;
}

/** Looks a task up; undefined when it is unknown (never throws: telemetry must not stop work). */
export type TaskFactsLookup = (taskId: string) => Promise<TaskFacts | undefined>;

/**
 * Only the plan's steps are read from the machine snapshot, and leniently: the snapshot's shape is
 * the supervisor's business, and a change there must cost attributes, never a failed lookup.
 */
const SnapshotPlanSchema = z.object({
  context: z.object({
    plan: z.object({
      steps: z.array(z.object({ id: z.string(), type: z.string(), risk: z.string().optional(), estimated_complexity: z.string().optional() })),
    }),
  }),
});

/** Reads the task record from the Store: the same in embedded (file store) and distributed (KV) mode. */
export function taskFactsFromStore(store: Store): TaskFactsLookup {
  return async (taskId) => {
    const entry = await store.get(taskKey(taskId)).catch(() => undefined);
    const record = TaskRecordSchema.safeParse(entry?.value);
    if (!record.success) return undefined;
    const { spec, snapshot } = record.data;
    const plan = SnapshotPlanSchema.safeParse(snapshot);
    const steps = new Map<string, StepFacts>(
      plan.success ? plan.data.context.plan.steps.map((s) => [s.id, { type: s.type, risk: s.risk, complexity: s.estimated_complexity }]) : [],
    );
    return { risk: spec.risk, area: spec.area, type: spec.type, priority: spec.priority, steps };
  };
}
