import { LineCounter, isMap, parseDocument } from 'yaml';
import { InputError, errorMessage } from '../platform/errors.js';
import type { InputIssue } from '../platform/errors.js';
import type { TaskSpec } from '../model/task-spec.js';
import { UserTaskSpecSchema } from './task-fields.js';
import { parseTaskBody } from './task-md-body.js';
import type { TaskBody } from './task-md-body.js';
import { describeValue, fieldLines, nodePosition, sortIssues, unknownFieldMessage, yamlErrorIssues, yamlLocator, zodInputIssues } from './yaml-issues.js';
import type { FieldPath, Locate, Position, YamlSource } from './yaml-issues.js';

const FRONT_MATTER_FIELDS = [
  'id',
  'type',
  'priority',
  'created',
  'risk',
  'area',
  'repo',
  'base',
  'budget_usd',
  'constraints',
  'context_files',
  'time_limit_minutes',
] as const;

/** Fields that come from the body; naming them in the front matter gets a pointer to the right section. */
const BODY_FIELD_SECTIONS: Readonly<Record<string, string>> = {
  goal: '**Prompt:**',
  target_files: '**Target Files:**',
  success_criteria: '**Success Criteria:**',
  context: '**Context:**',
  title: '`# Task: <title>` heading',
};

interface FrontMatter {
  readonly data: Record<string, unknown>;
  readonly source?: YamlSource;
  /** Why the front matter could not be read; its fields are then not also reported as missing. */
  readonly problem?: 'missing' | 'unclosed' | 'invalid';
  /** File line of the first body line. */
  readonly bodyStart: number;
}

function splitFrontMatter(lines: readonly string[], file: string, issues: InputIssue[]): FrontMatter {
  if ((lines[0] ?? '').replace(/^\uFEFF/, '').trim() !== '---') {
    issues.push({ file, line: 1, message: 'missing YAML front matter: the file must start with a `---` line, then `id: ...`, then `---`' });
    return { data: {}, bodyStart: 1, problem: 'missing' };
  }
  const end = lines.findIndex((line, index) => index > 0 && (line.trim() === '---' || line.trim() === '...'));
  if (end === -1) {
    issues.push({ file, line: 1, message: 'the front matter is never closed; add a `---` line after it' });
    return { data: {}, bodyStart: lines.length + 1, problem: 'unclosed' };
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(lines.slice(1, end).join('\n'), { lineCounter, prettyErrors: false, uniqueKeys: true });
  const source: YamlSource = { doc, lineCounter, lineOffset: 1 };
  const bodyStart = end + 2;
  if (doc.errors.length > 0) {
    issues.push(...yamlErrorIssues(doc.errors, file, source));
    return { data: {}, bodyStart, problem: 'invalid' };
  }
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (error) {
    issues.push({ file, line: 2, message: `invalid YAML: ${errorMessage(error)}` });
    return { data: {}, bodyStart, problem: 'invalid' };
  }
  if (data === null || data === undefined) return { data: {}, source, bodyStart };
  if (!isMap(doc.contents) || typeof data !== 'object' || Array.isArray(data)) {
    issues.push({ file, line: 2, message: `the front matter must be a mapping of fields (id, type, …), got ${describeValue(data)}` });
    return { data: {}, bodyStart, problem: 'invalid' };
  }
  return { data: data as Record<string, unknown>, source, bodyStart };
}

function frontMatterFields(front: FrontMatter, file: string, issues: InputIssue[]): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(front.data)) {
    if ((FRONT_MATTER_FIELDS as readonly string[]).includes(key)) {
      kept[key] = value;
      continue;
    }
    const position = front.source ? nodePosition(front.source, [key], 'key') : undefined;
    const section = BODY_FIELD_SECTIONS[key];
    const message =
      section === undefined
        ? unknownFieldMessage(key, FRONT_MATTER_FIELDS, 'front-matter field')
        : `\`${key}\` does not belong in the front matter; write it in the ${section} section of the body`;
    issues.push({ file, ...position, field: key, message });
  }
  return kept;
}

function bodyFields(body: TaskBody): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  if (body.title) fields['title'] = body.title.value;
  if (body.goal) fields['goal'] = body.goal.value;
  if (body.context) fields['context'] = body.context.value;
  if (body.target_files) fields['target_files'] = body.target_files.value;
  if (body.success_criteria) fields['success_criteria'] = body.success_criteria.value;
  return fields;
}

/** Body-derived fields are located by section and item line; everything else in the front matter. */
function locator(front: FrontMatter, body: TaskBody): Locate {
  const inFrontMatter: Locate = front.source ? yamlLocator(front.source) : () => undefined;
  return (path: FieldPath, at): Position | undefined => {
    const [field, index] = path;
    if (field === 'target_files' || field === 'success_criteria') {
      const list = body[field];
      const line = typeof index === 'number' ? list?.itemLines[index] : list?.line;
      if (line !== undefined) return { line, column: 1 };
    }
    if (field === 'goal' || field === 'context' || field === 'title') {
      const text = body[field];
      if (text) return { line: text.line, column: 1 };
    }
    return inFrontMatter(path, at) ?? { line: 1, column: 1 };
  };
}

/** Zod issues already said better by a front-matter or Prompt issue. */
function isRedundant(field: string, front: FrontMatter, body: TaskBody): boolean {
  if (field === 'goal') return body.goal === undefined;
  const name = field.replace(/\[.*$/, '');
  return front.problem !== undefined && !(name in BODY_FIELD_SECTIONS);
}

/** Parses a `*.task.md` (seed 003): YAML front matter, then `# Task:` and the Prompt/Target Files/… sections. */
export function parseTaskMarkdown(text: string, file: string): TaskSpec {
  const lines = text.split(/\r?\n/);
  const issues: InputIssue[] = [];
  const front = splitFrontMatter(lines, file, issues);
  const fields = frontMatterFields(front, file, issues);
  const body = parseTaskBody(lines.slice(front.bodyStart - 1), front.bodyStart);
  issues.push(...body.issues.map((issue) => ({ file, ...issue })));
  // With an unclosed front matter the whole file was taken as YAML; "no Prompt" would only be noise.
  if (body.goal === undefined && front.problem !== 'unclosed') {
    const line = body.title?.line ?? Math.min(front.bodyStart, lines.length);
    issues.push({ file, line, field: 'goal', message: 'missing the **Prompt:** section, which states the task' });
  }
  const input = { ...fields, ...bodyFields(body) };
  const parsed = UserTaskSpecSchema.safeParse(input);
  if (!parsed.success) {
    const located = zodInputIssues(parsed.error, { file, fieldPrefix: [], input, locate: locator(front, body), knownFields: FRONT_MATTER_FIELDS });
    issues.push(...located.filter((issue) => !isRedundant(issue.field ?? '', front, body)));
  }
  if (issues.length > 0 || !parsed.success) throw new InputError(sortIssues(issues));
  const idLine = front.source ? nodePosition(front.source, ['id'], 'key')?.line : undefined;
  return { ...parsed.data, source: { file, line: idLine ?? 1, fields: fieldLines(parsed.data, locator(front, body)) } };
}
