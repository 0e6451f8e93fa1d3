import type { InputIssue } from '../platform/errors.js';
import type { TaskSpec } from '../model/task-spec.js';
import { closestName } from './closest-name.js';

/** Where a dependency is written: `depends_on[1]` at its own line when the parser knew it. */
function at(spec: TaskSpec, index: number): Pick<InputIssue, 'file' | 'line' | 'field'> {
  const field = `depends_on[${index}]`;
  return { file: spec.source?.file ?? 'task', line: spec.source?.fields?.[field] ?? spec.source?.fields?.['depends_on'] ?? spec.source?.line, field };
}

/** The first cycle through `start` along depends_on, as ids from start back to start. */
function cycleFrom(start: string, deps: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const path: string[] = [];
  const seen = new Set<string>();
  const visit = (id: string): string[] | undefined => {
    if (id === start && path.length > 0) return [...path, id];
    if (seen.has(id)) return undefined;
    seen.add(id);
    path.push(id);
    for (const next of deps.get(id) ?? []) {
      const found = visit(next);
      if (found) return found;
    }
    path.pop();
    return undefined;
  };
  return visit(start);
}

/**
 * Problems with the tasks' `depends_on` before anything starts: an id that is neither in this run nor
 * already in the state dir (`known`), and cycles (each named once, at the first task of the cycle in
 * file order). A task may depend on one that ran earlier: it starts once that one is DONE.
 */
export function dependencyIssues(specs: readonly TaskSpec[], known: ReadonlySet<string>, defined: readonly string[] = []): InputIssue[] {
  const issues: InputIssue[] = [];
  const inRun = new Map(specs.map((s) => [s.id, s.depends_on] as const));
  for (const spec of specs) {
    for (const [index, dep] of spec.depends_on.entries()) {
      if (inRun.has(dep) || known.has(dep)) continue;
      const near = closestName(dep, [...inRun.keys(), ...known]);
      const elsewhere = defined.includes(dep) ? ` (it is in the task files, but not selected: add \`--task ${dep}\`)` : '';
      issues.push({
        ...at(spec, index),
        message: `task ${spec.id} depends on \`${dep}\`, which is neither in this run nor in the state dir${elsewhere || (near === undefined ? '' : ` (did you mean \`${near}\`?)`)}`,
      });
    }
  }
  const reported = new Set<string>();
  for (const spec of specs) {
    if (reported.has(spec.id)) continue;
    const cycle = cycleFrom(spec.id, inRun);
    if (!cycle) continue;
    for (const id of cycle) reported.add(id);
    const index = spec.depends_on.indexOf(cycle[1] ?? '');
    issues.push({ ...at(spec, Math.max(0, index)), message: `depends_on makes a cycle: ${cycle.join(' → ')}; no task of it could ever start` });
  }
  return issues;
}

/** The tasks with each one after the dependencies it has among them, otherwise in their given order (no cycles: checked first). */
export function dependencyOrder<T extends { readonly spec: TaskSpec }>(tasks: readonly T[]): T[] {
  const byId = new Map(tasks.map((t) => [t.spec.id, t] as const));
  const ordered: T[] = [];
  const placed = new Set<string>();
  const place = (task: T, depth: number): void => {
    if (placed.has(task.spec.id) || depth > tasks.length) return;
    for (const dep of task.spec.depends_on) {
      const found = byId.get(dep);
      if (found) place(found, depth + 1);
    }
    placed.add(task.spec.id);
    ordered.push(task);
  };
  for (const task of tasks) place(task, 0);
  return ordered;
}
