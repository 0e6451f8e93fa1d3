import { isMap, isNode, isScalar, isSeq } from 'yaml';
import type { Document, LineCounter, YAMLError } from 'yaml';
import type { ZodError } from 'zod';
import type { InputIssue } from '../platform/errors.js';
import { closestName } from './closest-name.js';

export type FieldPath = readonly (string | number)[];

export interface Position {
  readonly line: number;
  readonly column: number;
}

/** A parsed YAML document and where its text starts in the file (front matter starts on line 2). */
export interface YamlSource {
  readonly doc: Document;
  readonly lineCounter: LineCounter;
  readonly lineOffset: number;
}

/** Finds a node by path: the key itself when `at` is `key`, else its value; the deepest existing ancestor otherwise. */
export type Locate = (path: FieldPath, at: 'key' | 'value') => Position | undefined;

type ZodIssue = ZodError['issues'][number];

/** `['tasks', 1, 'risk']` → `tasks[1].risk`, the form users see in messages. */
function formatField(path: FieldPath): string {
  let out = '';
  for (const segment of path) {
    out += typeof segment === 'number' ? `[${segment}]` : out === '' ? segment : `.${segment}`;
  }
  return out;
}

export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return `a number (${value})`;
  if (typeof value === 'boolean') return `a boolean (${String(value)})`;
  return typeof value;
}

function positionAt(source: YamlSource, offset: number): Position {
  const { line, col } = source.lineCounter.linePos(offset);
  return { line: line + source.lineOffset, column: col };
}

export function nodePosition(source: YamlSource, path: FieldPath, at: 'key' | 'value' = 'value'): Position | undefined {
  let node: unknown = source.doc.contents;
  let found: unknown = node;
  for (const [index, segment] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((item) => (isScalar(item.key) ? String(item.key.value) : String(item.key)) === String(segment));
      if (!pair) break;
      // An empty value (`goal:`) has no node of its own, so point at its key.
      node = at === 'key' && index === path.length - 1 ? pair.key : (pair.value ?? pair.key);
    } else if (isSeq(node) && typeof segment === 'number') {
      node = node.items[segment];
      if (node === undefined) break;
    } else {
      break;
    }
    found = node;
  }
  const range = isNode(found) ? found.range : undefined;
  return range ? positionAt(source, range[0]) : undefined;
}

export function yamlLocator(source: YamlSource, prefix: FieldPath = []): Locate {
  return (path, at) => nodePosition(source, [...prefix, ...path], at);
}

/** The fields checked after parsing (against the repository, or the other tasks); see TaskSource.fields. */
const REPO_CHECKED_FIELDS = ['repo', 'base', 'context_files', 'target_files', 'depends_on'] as const;

/** Line of each repository-checked field of a parsed task (lists: each entry), where `locate` knows it. */
export function fieldLines(
  spec: {
    readonly repo?: string | undefined;
    readonly base?: string | undefined;
    readonly context_files: readonly string[];
    readonly target_files: readonly string[];
    readonly depends_on: readonly string[];
  },
  locate: Locate,
): Record<string, number> {
  const lines: Record<string, number> = {};
  for (const field of REPO_CHECKED_FIELDS) {
    // A field the task does not set has no line of its own; its problems stay at the task's line.
    const value = spec[field];
    if (value === undefined || (Array.isArray(value) && value.length === 0)) continue;
    const line = locate([field], 'key')?.line;
    if (line !== undefined) lines[field] = line;
    if (field === 'context_files' || field === 'target_files' || field === 'depends_on') {
      for (const index of spec[field].keys()) {
        const itemLine = locate([field, index], 'value')?.line;
        if (itemLine !== undefined) lines[`${field}[${index}]`] = itemLine;
      }
    }
  }
  return lines;
}

/** yaml's own parse errors, each at the line and column yaml reports. */
export function yamlErrorIssues(errors: readonly YAMLError[], file: string, source: YamlSource): InputIssue[] {
  return errors.map((error) => {
    const { line, column } = positionAt(source, error.pos[0]);
    return { file, line, column, message: `invalid YAML: ${error.message}` };
  });
}

export function unknownFieldMessage(name: string, known: readonly string[], kind = 'field'): string {
  const suggestion = closestName(name, known);
  return suggestion === undefined
    ? `unknown ${kind} \`${name}\` (known: ${known.join(', ')})`
    : `unknown ${kind} \`${name}\` (did you mean \`${suggestion}\`?)`;
}

function valueAt(input: unknown, path: FieldPath): { exists: boolean; value: unknown } {
  let current: unknown = input;
  for (const segment of path) {
    if (typeof current !== 'object' || current === null || !Object.hasOwn(current, segment)) return { exists: false, value: undefined };
    current = (current as Record<string | number, unknown>)[segment];
  }
  return { exists: true, value: current };
}

const EXPECTED: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
};

function lastName(path: FieldPath): string {
  const names = path.filter((segment): segment is string => typeof segment === 'string');
  return names.at(-1) ?? 'value';
}

function messageFor(issue: ZodIssue, input: unknown, path: FieldPath): string {
  const { exists, value } = valueAt(input, path);
  switch (issue.code) {
    case 'invalid_type': {
      if (!exists && typeof path.at(-1) === 'string') return `missing required field \`${String(path.at(-1))}\``;
      const expected = EXPECTED[issue.expected] ?? issue.expected;
      // YAML reads `id: 42` or `id: yes` as a number or boolean; quoting is the fix people need to hear.
      const hint = issue.expected === 'string' && (typeof value === 'number' || typeof value === 'boolean') ? ' (put it in quotes)' : '';
      return `must be ${expected}, got ${describeValue(value)}${hint}`;
    }
    case 'invalid_value':
      return `unknown ${lastName(path)} \`${String(value)}\` (allowed: ${issue.values.map(String).join(', ')})`;
    case 'too_small':
      if (issue.origin === 'string') return 'must not be empty';
      if (issue.origin === 'array') return `must have at least ${String(issue.minimum)} item(s)`;
      return `must be ${issue.inclusive ? 'at least' : 'greater than'} ${String(issue.minimum)}, got ${String(value)}`;
    case 'too_big':
      if (issue.origin === 'number') return `must be ${issue.inclusive ? 'at most' : 'less than'} ${String(issue.maximum)}, got ${String(value)}`;
      return issue.message;
    case 'invalid_format':
      return `\`${String(value)}\` ${issue.message}`;
    default:
      return issue.message;
  }
}

export interface ZodIssueContext {
  readonly file: string;
  /** Where the validated value sits in the file, e.g. `['tasks', 1]`; prefixes every field. */
  readonly fieldPrefix: FieldPath;
  /** The raw value that was validated; tells a missing field from a wrong-typed one. */
  readonly input: unknown;
  /** Locates a path relative to the validated value. */
  readonly locate: Locate;
  /** Field names offered as "did you mean" for unknown fields. */
  readonly knownFields: readonly string[];
}

/** One InputIssue per zod problem (one per unknown key), each at the line of the node it concerns. */
export function zodInputIssues(error: ZodError, context: ZodIssueContext): InputIssue[] {
  const issues: InputIssue[] = [];
  for (const issue of error.issues) {
    const path = issue.path.filter((segment): segment is string | number => typeof segment !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const keyPath = [...path, key];
        issues.push({
          file: context.file,
          ...context.locate(keyPath, 'key'),
          field: formatField([...context.fieldPrefix, ...keyPath]),
          message: unknownFieldMessage(key, context.knownFields),
        });
      }
      continue;
    }
    issues.push({
      file: context.file,
      ...context.locate(path, 'value'),
      field: formatField([...context.fieldPrefix, ...path]),
      message: messageFor(issue, context.input, path),
    });
  }
  return issues;
}

/** Issues in file order, so a person can fix them top to bottom. */
export function sortIssues(issues: readonly InputIssue[]): InputIssue[] {
  return [...issues].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}
