import { LineCounter, isMap, isSeq, parseDocument } from 'yaml';
import { InputError, errorMessage } from '../platform/errors.js';
import type { InputIssue } from '../platform/errors.js';
import type { TaskSpec } from '../model/task-spec.js';
import { USER_TASK_FIELDS, UserTaskSpecSchema } from './task-fields.js';
import { describeValue, fieldLines, nodePosition, sortIssues, unknownFieldMessage, yamlErrorIssues, yamlLocator, zodInputIssues } from './yaml-issues.js';
import type { YamlSource } from './yaml-issues.js';

const TOP_LEVEL_FIELDS = ['tasks'] as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses a tasks.yaml (seed 002 §1): a top-level `tasks:` list of task mappings. Every problem in the
 * file is collected and thrown as one InputError, so a person fixes the file in one pass.
 */
export function parseTasksYaml(text: string, file: string): TaskSpec[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const source: YamlSource = { doc, lineCounter, lineOffset: 0 };
  if (doc.errors.length > 0) throw new InputError(yamlErrorIssues(doc.errors, file, source));

  let data: unknown;
  try {
    data = doc.toJS();
  } catch (error) {
    // toJS refuses alias bombs and similar; the document is then unusable as a whole.
    throw new InputError([{ file, line: 1, message: `invalid YAML: ${errorMessage(error)}` }], { cause: error });
  }

  const issues: InputIssue[] = [];
  const specs = parseTop(data, file, source, issues);
  if (issues.length > 0) throw new InputError(sortIssues(issues));
  return specs;
}

function parseTop(data: unknown, file: string, source: YamlSource, issues: InputIssue[]): TaskSpec[] {
  const at = (path: readonly (string | number)[], where: 'key' | 'value' = 'value') => nodePosition(source, path, where) ?? { line: 1 };
  if (data === null || data === undefined) {
    issues.push({ file, line: 1, message: 'the file is empty; expected a top-level `tasks:` list' });
    return [];
  }
  if (!isMap(source.doc.contents) || !isRecord(data)) {
    issues.push({ file, ...at([]), message: `the top level must be a mapping with a \`tasks:\` list, got ${describeValue(data)}` });
    return [];
  }
  for (const key of Object.keys(data)) {
    if (!(TOP_LEVEL_FIELDS as readonly string[]).includes(key)) {
      issues.push({ file, ...at([key], 'key'), field: key, message: unknownFieldMessage(key, TOP_LEVEL_FIELDS, 'top-level field') });
    }
  }
  if (!Object.hasOwn(data, 'tasks')) {
    issues.push({ file, ...at([]), field: 'tasks', message: 'missing the top-level `tasks:` list' });
    return [];
  }
  const tasks = data['tasks'];
  if (!Array.isArray(tasks) || !isSeq(source.doc.getIn(['tasks'], true))) {
    issues.push({ file, ...at(['tasks']), field: 'tasks', message: `must be a list of tasks, got ${describeValue(tasks)}` });
    return [];
  }
  if (tasks.length === 0) {
    issues.push({ file, ...at(['tasks']), field: 'tasks', message: 'is empty; add at least one task' });
    return [];
  }
  return parseTasks(tasks, file, source, issues);
}

function parseTasks(tasks: readonly unknown[], file: string, source: YamlSource, issues: InputIssue[]): TaskSpec[] {
  const specs: TaskSpec[] = [];
  const firstIdLine = new Map<string, number>();
  for (const [index, item] of tasks.entries()) {
    const itemLine = nodePosition(source, ['tasks', index])?.line ?? 1;
    if (!isRecord(item)) {
      issues.push({
        file,
        line: itemLine,
        field: `tasks[${index}]`,
        message: `each task must be a mapping of fields (id, goal, …), got ${describeValue(item)}`,
      });
      continue;
    }
    // Checked on the raw value so a duplicate is reported even when the task has other problems.
    const id = item['id'];
    if (typeof id === 'string') {
      const idPosition = nodePosition(source, ['tasks', index, 'id']) ?? { line: itemLine };
      const first = firstIdLine.get(id);
      if (first === undefined) firstIdLine.set(id, idPosition.line);
      else issues.push({ file, ...idPosition, field: `tasks[${index}].id`, message: `duplicate task id \`${id}\` (first defined at line ${first})` });
    }
    const parsed = UserTaskSpecSchema.safeParse(item);
    if (!parsed.success) {
      issues.push(
        ...zodInputIssues(parsed.error, {
          file,
          fieldPrefix: ['tasks', index],
          input: item,
          locate: yamlLocator(source, ['tasks', index]),
          knownFields: USER_TASK_FIELDS,
        }),
      );
      continue;
    }
    const fields = fieldLines(parsed.data, yamlLocator(source, ['tasks', index]));
    specs.push({ ...parsed.data, source: { file, line: itemLine, fields } });
  }
  return specs;
}
