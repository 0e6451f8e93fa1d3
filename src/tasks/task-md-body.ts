import { closestName } from './closest-name.js';

/** Body sections of a `*.task.md` (seed 003) and the task fields they fill. */
const BODY_SECTIONS = {
  'target files': 'target_files',
  prompt: 'goal',
  'success criteria': 'success_criteria',
  context: 'context',
} as const;
type SectionField = (typeof BODY_SECTIONS)[keyof typeof BODY_SECTIONS];

const SECTION_TITLES = ['Target Files', 'Prompt', 'Success Criteria', 'Context'] as const;

interface BodyText {
  readonly value: string;
  readonly line: number;
}

interface BodyList {
  readonly value: readonly string[];
  readonly line: number;
  /** Line of each item, for errors about one entry. */
  readonly itemLines: readonly number[];
}

export interface TaskBody {
  readonly title?: BodyText;
  readonly goal?: BodyText;
  readonly context?: BodyText;
  readonly target_files?: BodyList;
  readonly success_criteria?: BodyList;
  readonly issues: readonly { readonly line: number; readonly field?: string; readonly message: string }[];
}

interface Section {
  readonly field: SectionField;
  readonly title: string;
  readonly line: number;
  readonly lines: { readonly text: string; readonly line: number }[];
}

/** Receives the lines under a misspelled section heading. */
const DISCARDED: Section = { field: 'context', title: '', line: 0, lines: [] };

const TITLE = /^#\s+(?:Task:\s*)?(.*?)\s*#*\s*$/i;
const HEADING = /^#{2,6}\s+(.+?)\s*:?\s*#*\s*$/;
const BOLD_LABEL = /^\*\*([^*]+?):?\*\*:?\s*(.*)$/;
const FENCE = /^\s*(```|~~~)/;
const LIST_ITEM = /^\s*[-*+]\s+(?:\[[ xX]\]\s*)?(.*)$/;

/** A heading or bold label naming a section: known, a near miss (typo), or ordinary content. */
function classify(name: string): { field: SectionField; title: string } | { typo: string } | undefined {
  const key = name.trim().toLowerCase();
  const field = (BODY_SECTIONS as Readonly<Record<string, SectionField>>)[key];
  if (field !== undefined) return { field, title: SECTION_TITLES.find((title) => title.toLowerCase() === key) ?? name };
  const typo = closestName(key, SECTION_TITLES);
  return typo === undefined ? undefined : { typo };
}

function textOf(section: Section): string {
  return section.lines
    .map((entry) => entry.text)
    .join('\n')
    .trim();
}

type Issues = { line: number; field?: string; message: string }[];

function listOf(section: Section, issues: Issues, stripRoot: boolean): BodyList {
  const value: string[] = [];
  const itemLines: number[] = [];
  for (const { text, line } of section.lines) {
    if (text.trim() === '') continue;
    const match = LIST_ITEM.exec(text);
    if (match) {
      let item = (match[1] ?? '').trim().replace(/^`(.*)`$/, '$1');
      // The seed writes `/app/database.py` meaning "app/database.py in the repository".
      if (stripRoot) item = item.replace(/^\/+/, '');
      if (item === '') {
        issues.push({ line, field: `${section.field}[${value.length}]`, message: `empty list item in ${section.title}` });
        continue;
      }
      value.push(item);
      itemLines.push(line);
    } else if (/^\s/.test(text) && value.length > 0) {
      // An indented line continues the previous item.
      value[value.length - 1] = `${value[value.length - 1] ?? ''} ${text.trim()}`;
    } else {
      issues.push({ line, field: section.field, message: `expected a list item (\`- ...\`) in ${section.title}, got \`${text.trim()}\`` });
    }
  }
  return { value, line: section.line, itemLines };
}

/**
 * Splits the markdown body into its sections. `firstLine` is the file line of `lines[0]`. Headings inside
 * fenced code blocks are content, and so are headings with unknown names (a prompt may have its own
 * `## Background`), except near misses of a section name, which are almost surely typos.
 */
export function parseTaskBody(lines: readonly string[], firstLine: number): TaskBody {
  const issues: Issues = [];
  const sections = new Map<SectionField, Section>();
  let title: BodyText | undefined;
  let current: Section | undefined;
  let inFence = false;
  for (const [index, text] of lines.entries()) {
    const line = firstLine + index;
    if (FENCE.test(text)) inFence = !inFence;
    const label = inFence ? undefined : (HEADING.exec(text) ?? BOLD_LABEL.exec(text));
    const kind = label ? classify(label[1] ?? '') : undefined;
    if (kind && 'typo' in kind) {
      issues.push({ line, message: `unknown section \`${(label?.[1] ?? '').trim()}\` (did you mean \`${kind.typo}\`?)` });
      // Its lines belong to no section; adding them to the previous one would only add false errors.
      current = DISCARDED;
      continue;
    }
    if (kind) {
      const first = sections.get(kind.field);
      if (first) issues.push({ line, field: kind.field, message: `section ${kind.title} appears twice (first at line ${first.line})` });
      current = { field: kind.field, title: kind.title, line, lines: [] };
      if (!first) sections.set(kind.field, current);
      const inline = label?.[2]?.trim();
      if (inline) current.lines.push({ text: inline, line });
      continue;
    }
    if (current === undefined) {
      const titleMatch = inFence ? null : TITLE.exec(text);
      if (titleMatch && title === undefined) title = { value: titleMatch[1] ?? '', line };
      continue;
    }
    if (current !== DISCARDED) current.lines.push({ text, line });
  }

  const body: { -readonly [K in keyof TaskBody]: TaskBody[K] } = { issues };
  if (title && title.value !== '') body.title = title;
  for (const section of sections.values()) {
    if (section.field === 'goal') body.goal = { value: textOf(section), line: section.line };
    if (section.field === 'context') {
      const value = textOf(section);
      if (value !== '') body.context = { value, line: section.line };
    }
    if (section.field === 'target_files') body.target_files = listOf(section, issues, true);
    if (section.field === 'success_criteria') body.success_criteria = listOf(section, issues, false);
  }
  return body;
}
