import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseTaskMarkdown } from '../../src/tasks/parse-task-md.js';
import { issuesOf } from './catch-issues.js';

const FILE = 'fix.task.md';
const parse = (text: string) => () => parseTaskMarkdown(text, FILE);
const SEED = readFileSync(new URL('../fixtures/tasks/fix-db.task.md', import.meta.url), 'utf8');

/** A minimal valid file; tests replace parts of it. */
const BASE = ['---', 'id: t1', 'type: fix', '---', '', '# Task: Title', '', '**Prompt:**', 'Do it.', ''].join('\n');

describe('parseTaskMarkdown', () => {
  it('parses the seed example', () => {
    expect(parseTaskMarkdown(SEED, 'tasks/fix-db.task.md')).toEqual({
      id: 'task_001',
      title: 'Fix Database Connection Issues',
      goal: 'Analyze the database connection code and fix any timeout issues.',
      type: 'fix',
      risk: 'medium',
      area: 'general',
      priority: 'high',
      created: '2025-08-03T10:30:00Z',
      context_files: [],
      target_files: ['app/database.py', 'config/db_config.json'],
      depends_on: [],
      constraints: [],
      success_criteria: ['Connection timeouts handled gracefully', 'Unit tests updated'],
      context: 'Previous attempts failed due to connection pool exhaustion.',
      time_limit_minutes: 360,
      source: { file: 'tasks/fix-db.task.md', line: 2, fields: { target_files: 10, 'target_files[0]': 11, 'target_files[1]': 12 } },
    });
  });

  it('reads the same file with CRLF line endings', () => {
    const spec = parseTaskMarkdown(SEED.replaceAll('\n', '\r\n'), FILE);
    expect([spec.goal, spec.target_files, spec.context]).toEqual([
      'Analyze the database connection code and fix any timeout issues.',
      ['app/database.py', 'config/db_config.json'],
      'Previous attempts failed due to connection pool exhaustion.',
    ]);
  });

  it('accepts `##` headings, inline labels, the other front-matter fields and keeps fenced code as prompt text', () => {
    const text = [
      '---',
      'id: t2',
      'type: analyze',
      'risk: high',
      'area: api',
      'repo: ../service',
      'base: develop',
      'budget_usd: 3',
      'time_limit_minutes: 30',
      'constraints: [ZERO-WARNINGS]',
      'context_files: [docs/api.md]',
      '---',
      '# Task: Review the API',
      '## Target Files',
      '- `src/api.ts`',
      '* [x] src/routes.ts',
      '## Prompt:',
      'Look at this:',
      '```',
      '## Prompt',
      '```',
      '## Background',
      'Inline heading that is not a section.',
      '**Success Criteria:** ',
      '- [ ] no regressions',
      '  in the public routes',
      '**Context:** See issue 12.',
    ].join('\n');
    expect(parseTaskMarkdown(text, FILE)).toEqual({
      id: 't2',
      title: 'Review the API',
      goal: 'Look at this:\n```\n## Prompt\n```\n## Background\nInline heading that is not a section.',
      type: 'analyze',
      risk: 'high',
      area: 'api',
      priority: 'medium',
      repo: '../service',
      base: 'develop',
      budget_usd: 3,
      time_limit_minutes: 30,
      constraints: ['ZERO-WARNINGS'],
      context_files: ['docs/api.md'],
      target_files: ['src/api.ts', 'src/routes.ts'],
      depends_on: [],
      success_criteria: ['no regressions in the public routes'],
      context: 'See issue 12.',
      source: {
        file: FILE,
        line: 2,
        fields: { repo: 6, base: 7, context_files: 11, 'context_files[0]': 11, target_files: 14, 'target_files[0]': 15, 'target_files[1]': 16 },
      },
    });
  });

  it('reports a file without front matter', () => {
    expect(issuesOf(parse('# Task: x\n\n**Prompt:**\nDo it.\n'))).toEqual([
      { file: FILE, line: 1, message: 'missing YAML front matter: the file must start with a `---` line, then `id: ...`, then `---`' },
    ]);
  });

  it('reports a front matter that is never closed', () => {
    expect(issuesOf(parse('---\nid: t1\n\n# Task: x\n'))).toEqual([
      { file: FILE, line: 1, message: 'the front matter is never closed; add a `---` line after it' },
    ]);
  });

  it('reports invalid front-matter YAML at its line in the file', () => {
    expect(issuesOf(parse(BASE.replace('type: fix', 'type: [fix')))).toEqual([
      {
        file: FILE,
        line: 3,
        column: 11,
        message: 'invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
      },
    ]);
  });

  it('reports a missing id at the front matter', () => {
    expect(issuesOf(parse(BASE.replace('id: t1\n', '')))).toEqual([{ file: FILE, line: 2, column: 1, field: 'id', message: 'missing required field `id`' }]);
  });

  it('reports an unknown type and risk at their front-matter lines', () => {
    expect(issuesOf(parse(BASE.replace('type: fix', 'type: bugfix\nrisk: extreme')))).toEqual([
      {
        file: FILE,
        line: 3,
        column: 7,
        field: 'type',
        message: 'unknown type `bugfix` (allowed: feature, fix, refactor, docs, test, code_review, summarize, analyze, validation, chore)',
      },
      { file: FILE, line: 4, column: 7, field: 'risk', message: 'unknown risk `extreme` (allowed: high, medium, low)' },
    ]);
  });

  it('names an unknown front-matter field and suggests the closest one', () => {
    expect(issuesOf(parse(BASE.replace('type: fix', 'prority: high')))).toEqual([
      { file: FILE, line: 3, column: 1, field: 'prority', message: 'unknown front-matter field `prority` (did you mean `priority`?)' },
    ]);
  });

  it('points a body field written in the front matter to its section', () => {
    expect(issuesOf(parse(BASE.replace('type: fix', 'target_files: [a.py]')))).toEqual([
      {
        file: FILE,
        line: 3,
        column: 1,
        field: 'target_files',
        message: '`target_files` does not belong in the front matter; write it in the **Target Files:** section of the body',
      },
    ]);
  });

  it('reports a missing Prompt at the title line', () => {
    expect(issuesOf(parse(BASE.replace('**Prompt:**\nDo it.\n', '**Context:**\nSome.\n')))).toEqual([
      { file: FILE, line: 6, field: 'goal', message: 'missing the **Prompt:** section, which states the task' },
    ]);
  });

  it('reports a missing Prompt at the first body line when there is no title', () => {
    expect(issuesOf(parse('---\nid: t1\n---\nJust words.\n'))).toEqual([
      { file: FILE, line: 4, field: 'goal', message: 'missing the **Prompt:** section, which states the task' },
    ]);
  });

  it('reports an empty Prompt at its heading', () => {
    expect(issuesOf(parse(BASE.replace('Do it.', '')))).toEqual([{ file: FILE, line: 8, column: 1, field: 'goal', message: 'must not be empty' }]);
  });

  it('reports a misspelled section heading with a suggestion, without blaming its lines on another section', () => {
    const text = BASE.replace('**Prompt:**\nDo it.\n', '**Target Files:**\n- a.py\n\n**Promt:**\nDo it.\n');
    expect(issuesOf(parse(text))).toEqual([
      { file: FILE, line: 6, field: 'goal', message: 'missing the **Prompt:** section, which states the task' },
      { file: FILE, line: 11, message: 'unknown section `Promt` (did you mean `Prompt`?)' },
    ]);
  });

  it('reports text that is not a list item in Target Files at its line', () => {
    const text = BASE.replace('**Prompt:**', '**Target Files:**\n- a.py\nb.py\n\n**Prompt:**');
    expect(issuesOf(parse(text))).toEqual([
      { file: FILE, line: 10, field: 'target_files', message: 'expected a list item (`- ...`) in Target Files, got `b.py`' },
    ]);
  });

  it('reports an empty checklist item at its line', () => {
    const text = `${BASE}\n**Success Criteria:**\n- [ ] works\n- [ ]\n`;
    expect(issuesOf(parse(text))).toEqual([{ file: FILE, line: 13, field: 'success_criteria[1]', message: 'empty list item in Success Criteria' }]);
  });

  it('reports a section given twice at the second one', () => {
    expect(issuesOf(parse(`${BASE}\n**Prompt:**\nAgain.\n`))).toEqual([
      { file: FILE, line: 11, field: 'goal', message: 'section Prompt appears twice (first at line 8)' },
    ]);
  });
});
