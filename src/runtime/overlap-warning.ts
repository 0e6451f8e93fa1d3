import { isCodeStep, type Plan } from '../model/role-outputs.js';
import type { TaskRecord } from '../model/task-record.js';

/** The files a plan's code steps will create or change. */
function plannedFiles(plan: Plan): Set<string> {
  return new Set(plan.steps.filter(isCodeStep).flatMap((s) => [...s.files_to_modify, ...s.files_to_create].map((f) => f.replace(/^\.\//, ''))));
}

/**
 * Tasks that run at the same time on one repository and plan to change the same files: their
 * branches will likely conflict when merged, which a person may want to sequence with `depends_on`.
 */
export function plannedOverlaps(task: TaskRecord, others: readonly TaskRecord[]): { readonly id: string; readonly files: readonly string[] }[] {
  if (!task.plan) return [];
  const mine = plannedFiles(task.plan);
  if (mine.size === 0) return [];
  return others.flatMap((other) => {
    if (other.id === task.id || other.repo !== task.repo || !other.plan) return [];
    const files = [...plannedFiles(other.plan)].filter((f) => mine.has(f)).sort();
    return files.length === 0 ? [] : [{ id: other.id, files }];
  });
}
