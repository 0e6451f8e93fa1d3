import { isCodeStep, type PlanStep } from '../model/role-outputs.js';

/**
 * Whether a code step's diff delivers what the step planned: any change at all, and a change to at
 * least one of the files the plan said it would create or modify. A step that plans no files is
 * satisfied by any change. Report steps change nothing and are never judged here.
 */

type PlannedFiles = Pick<PlanStep, 'type' | 'files_to_modify' | 'files_to_create'>;

export const NoChangeReason = {
  empty: 'no changes were made',
  plannedUntouched: 'the planned files were not touched',
} as const;
export type NoChangeReason = (typeof NoChangeReason)[keyof typeof NoChangeReason];

/** Why a code step's diff does not count as its change, or undefined when it does. */
export function missingChange(step: PlannedFiles, changedFiles: readonly string[]): NoChangeReason | undefined {
  if (!isCodeStep(step)) return undefined;
  if (changedFiles.length === 0) return NoChangeReason.empty;
  const planned = [...step.files_to_modify, ...step.files_to_create].map(normalize).filter((p) => p !== '');
  if (planned.length === 0) return undefined;
  const changed = changedFiles.map(normalize);
  const touched = planned.some((p) => changed.some((c) => c === p || c.startsWith(`${p}/`)));
  return touched ? undefined : NoChangeReason.plannedUntouched;
}

/** Plans name files loosely (`./src/a.ts`, `src/dir/`); git names them `src/a.ts`. */
function normalize(path: string): string {
  return path
    .trim()
    .replace(/\\/g, '/')
    .replace(/^(\.\/)+/, '')
    .replace(/\/+$/, '');
}
