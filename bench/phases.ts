import { median } from './stats.js';

export interface Mark {
  readonly label: string;
  readonly at: number;
}

export interface Phase {
  /** `from→to`, e.g. `planner.end→plan-reviewer`: the runtime's work between two effects. */
  readonly label: string;
  /** How often it occurs per task (a step's phases occur once per step). */
  readonly perTask: number;
  readonly medianMs: number;
  /** medianMs × perTask: its share of a task's time. */
  readonly perTaskMs: number;
}

/**
 * Median time between consecutive marks of each task, grouped by the pair of labels, in the order
 * the pairs first occur. Marks are `<effect>` at an effect's start and `<effect>.end` at its end,
 * so a gap `x.end→y` is orchestration and `x→x.end` is time inside a stub.
 */
export function phaseBreakdown(marksByTask: ReadonlyMap<string, readonly Mark[]>): Phase[] {
  const samples = new Map<string, number[]>();
  for (const marks of marksByTask.values()) {
    for (let i = 1; i < marks.length; i++) {
      const from = marks[i - 1] as Mark;
      const to = marks[i] as Mark;
      const label = `${from.label}→${to.label}`;
      const list = samples.get(label);
      if (list) list.push(to.at - from.at);
      else samples.set(label, [to.at - from.at]);
    }
  }
  const tasks = marksByTask.size;
  return [...samples].map(([label, list]) => {
    const medianMs = median(list);
    const perTask = tasks === 0 ? 0 : list.length / tasks;
    return { label, perTask, medianMs, perTaskMs: medianMs * perTask };
  });
}
