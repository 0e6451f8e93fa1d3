import type { ChangeSizeLimits } from '../gate/gate-options.js';
import type { ChangeSize } from '../model/parser-names.js';
import type { ChangeSummary } from '../model/gate-report.js';

export interface ChangedFile {
  readonly path: string;
  /** Lines added plus deleted; 0 for binary files. */
  readonly lines: number;
  /** Whether executable code changed (not only comments, layout or docs); judged by its area when absent. */
  readonly code?: boolean | undefined;
}

export const ChangeArea = { source: 'source', tests: 'tests', docs: 'docs', config: 'config' } as const;
export type ChangeArea = (typeof ChangeArea)[keyof typeof ChangeArea];

const DOC = /(^|\/)(docs?|documentation)\/|\.(md|mdx|markdown|rst|txt|adoc)$|(^|\/)(LICENSE|LICENCE|AUTHORS|CHANGELOG|NOTICE)[^/]*$/i;
const TEST = /(^|\/)(tests?|__tests__|spec|specs|testdata|fixtures)\/|\.(test|spec)\.[^/]+$|_test\.(go|py)$|(^|\/)test_[^/]*\.py$|(^|\/)conftest\.py$/;
const DEPENDENCY_LIST = /(^|\/)requirements[^/]*\.txt$/;
const CONFIG =
  /(^|\/)(package\.json|package-lock\.json|npm-shrinkwrap\.json|yarn\.lock|pnpm-lock\.yaml|tsconfig[^/]*\.json|pyproject\.toml|setup\.(cfg|py)|requirements[^/]*\.txt|Pipfile(\.lock)?|poetry\.lock|go\.(mod|sum)|Cargo\.(toml|lock)|Makefile|Dockerfile[^/]*|\.tandem\/[^/]*)$|(^|\/)\.[^/]+$|(^|\/)\.(github|gitlab|circleci|husky)\/|\.config\.[cm]?[jt]s$|\.(ya?ml|toml|ini|cfg)$/;

/** Which part of a project a path belongs to; tests and docs win over config for files in their folders. */
export function areaOf(path: string): ChangeArea {
  if (TEST.test(path)) return ChangeArea.tests;
  if (DEPENDENCY_LIST.test(path)) return ChangeArea.config;
  if (DOC.test(path)) return ChangeArea.docs;
  if (CONFIG.test(path)) return ChangeArea.config;
  return ChangeArea.source;
}

/**
 * Seed 002's classes, with TRIVIAL meaning "no executable code changed": documentation, comments
 * and layout only, whatever the size (a one-line change of code can break every test, so it is
 * never TRIVIAL). A change of code is the smallest of SMALL, MEDIUM, LARGE whose limits hold both
 * its lines and its files; a change to the build or the dependencies (config) is at least MEDIUM,
 * because it can break everything without touching a line of source.
 */
export function classifyChange(files: readonly ChangedFile[], limits: ChangeSizeLimits): ChangeSummary {
  const lines = files.reduce((sum, f) => sum + f.lines, 0);
  const areaSet = new Set(files.map((f) => areaOf(f.path)));
  const areas = [ChangeArea.source, ChangeArea.tests, ChangeArea.docs, ChangeArea.config].filter((a) => areaSet.has(a));
  const summary = (size: ChangeSize): ChangeSummary => ({ size, lines, files: files.length, areas });
  if (!files.some(changesCode)) return summary('TRIVIAL');
  const fits = (limit: { max_lines: number; max_files: number }): boolean => lines <= limit.max_lines && files.length <= limit.max_files;
  const bySize: ChangeSize = fits(limits.small) ? 'SMALL' : fits(limits.medium) ? 'MEDIUM' : 'LARGE';
  if (areaSet.has(ChangeArea.config) && bySize === 'SMALL') return summary('MEDIUM');
  return summary(bySize);
}

function changesCode(file: ChangedFile): boolean {
  return file.code ?? areaOf(file.path) !== ChangeArea.docs;
}

/** Whether a check configured with `runsOn` (undefined: all sizes) runs for a change of `size`. */
export function runsOn(runsOnSizes: readonly ChangeSize[] | undefined, size: ChangeSize): boolean {
  return runsOnSizes === undefined || runsOnSizes.includes(size);
}

/**
 * Whether the gate runs a check on a change: tests and the public API (`always` checks) run on
 * every change of code whatever their `runs_on` says, since no change class may override "all
 * tests pass" or "no export removed"; other checks follow `runs_on`.
 */
export function selectedFor(check: { readonly runs_on?: readonly ChangeSize[] | undefined }, always: boolean, size: ChangeSize): boolean {
  return (always && size !== 'TRIVIAL') || runsOn(check.runs_on, size);
}
