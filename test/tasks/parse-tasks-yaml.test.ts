import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/platform/errors.js';
import { parseTasksYaml } from '../../src/tasks/parse-tasks-yaml.js';
import { issuesOf } from './catch-issues.js';

const FILE = 'tasks.yaml';
const parse = (text: string) => () => parseTasksYaml(text, FILE);

describe('parseTasksYaml', () => {
  it('parses the seed example, applying defaults and recording each task line', () => {
    const text = readFileSync(new URL('../fixtures/tasks/tasks.yaml', import.meta.url), 'utf8');
    const specs = parseTasksYaml(text, 'fixtures/tasks.yaml');
    expect(specs).toEqual([
      {
        id: 'RAE-001',
        goal: 'Complete Phase 2 of RAE-core: implement search strategies and hybrid engine',
        type: 'feature',
        risk: 'high',
        area: 'core',
        priority: 'medium',
        repo: 'RAE-agentic-memory',
        context_files: ['rae-core/rae_core/search/', 'docs/RAE_PHASE2_PLAN.md'],
        target_files: [],
        depends_on: [],
        constraints: ['ZERO-WARNINGS', '80%+ test coverage', 'No breaking changes to public API'],
        success_criteria: [],
        time_limit_minutes: 360,
        source: { file: 'fixtures/tasks.yaml', line: 3, fields: { repo: 7, context_files: 8, 'context_files[0]': 9, 'context_files[1]': 10 } },
      },
      {
        id: 'RAE-002',
        goal: 'Update README with Phase 1 completion status',
        type: 'feature',
        risk: 'low',
        area: 'docs',
        priority: 'high',
        repo: 'RAE-agentic-memory',
        base: 'develop',
        budget_usd: 2.5,
        time_limit_minutes: 90,
        context_files: ['README.md', 'docs/RAE_PHASE1_COMPLETION_PLAN.md'],
        target_files: [],
        depends_on: [],
        constraints: [],
        success_criteria: [],
        source: { file: 'fixtures/tasks.yaml', line: 16, fields: { repo: 20, base: 22, context_files: 25, 'context_files[0]': 26, 'context_files[1]': 27 } },
      },
    ]);
  });

  it('reports malformed YAML with the line and column yaml gives', () => {
    expect(issuesOf(parse('tasks:\n  - id: a\n    goal: [unclosed\n'))).toEqual([
      {
        file: FILE,
        line: 4,
        column: 1,
        message: 'invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
      },
    ]);
  });

  it('reports a duplicated key as invalid YAML at the second key', () => {
    expect(issuesOf(parse('tasks:\n  - id: a\n    goal: b\n    goal: c\n'))).toEqual([
      { file: FILE, line: 4, column: 5, message: 'invalid YAML: Map keys must be unique' },
    ]);
  });

  it('reports an empty file', () => {
    expect(issuesOf(parse('# nothing yet\n'))).toEqual([{ file: FILE, line: 1, message: 'the file is empty; expected a top-level `tasks:` list' }]);
  });

  it('reports a top level that is not a mapping', () => {
    expect(issuesOf(parse('- id: a\n  goal: b\n'))).toEqual([
      { file: FILE, line: 1, column: 1, message: 'the top level must be a mapping with a `tasks:` list, got a list' },
    ]);
  });

  it('reports a missing `tasks` key and suggests it for a misspelled one', () => {
    expect(issuesOf(parse('task:\n  - id: a\n    goal: b\n'))).toEqual([
      { file: FILE, line: 1, column: 1, field: 'task', message: 'unknown top-level field `task` (did you mean `tasks`?)' },
      { file: FILE, line: 1, column: 1, field: 'tasks', message: 'missing the top-level `tasks:` list' },
    ]);
  });

  it('reports `tasks` that is not a list', () => {
    expect(issuesOf(parse('tasks:\n  id: a\n  goal: b\n'))).toEqual([
      { file: FILE, line: 2, column: 3, field: 'tasks', message: 'must be a list of tasks, got a mapping' },
    ]);
  });

  it('reports an empty `tasks` list', () => {
    expect(issuesOf(parse('tasks: []\n'))).toEqual([{ file: FILE, line: 1, column: 8, field: 'tasks', message: 'is empty; add at least one task' }]);
  });

  it('reports a task that is not a mapping', () => {
    expect(issuesOf(parse('tasks:\n  - fix the bug\n'))).toEqual([
      { file: FILE, line: 2, field: 'tasks[0]', message: 'each task must be a mapping of fields (id, goal, …), got a string' },
    ]);
  });

  it('names an unknown field and suggests the closest known one', () => {
    expect(issuesOf(parse('tasks:\n  - id: a\n    goal: b\n    contxt_files: [x]\n'))).toEqual([
      { file: FILE, line: 4, column: 5, field: 'tasks[0].contxt_files', message: 'unknown field `contxt_files` (did you mean `context_files`?)' },
    ]);
  });

  it('lists the known fields when no field is close to an unknown one', () => {
    const [issue] = issuesOf(parse('tasks:\n  - id: a\n    goal: b\n    deadline: tomorrow\n'));
    expect(issue).toEqual({
      file: FILE,
      line: 4,
      column: 5,
      field: 'tasks[0].deadline',
      message:
        'unknown field `deadline` (known: id, goal, title, type, risk, area, priority, repo, base, context_files, target_files, depends_on, constraints, success_criteria, context, budget_usd, time_limit_minutes, allow_breaking, coverage_min, created)',
    });
  });

  it('does not let a person set `source`, which tandem fills in', () => {
    expect(issuesOf(parse('tasks:\n  - id: a\n    goal: b\n    source: x\n'))).toEqual([
      {
        file: FILE,
        line: 4,
        column: 5,
        field: 'tasks[0].source',
        message:
          'unknown field `source` (known: id, goal, title, type, risk, area, priority, repo, base, context_files, target_files, depends_on, constraints, success_criteria, context, budget_usd, time_limit_minutes, allow_breaking, coverage_min, created)',
      },
    ]);
  });

  it('reports a missing id at the task line', () => {
    expect(issuesOf(parse('tasks:\n  - goal: b\n    risk: low\n'))).toEqual([
      { file: FILE, line: 2, column: 5, field: 'tasks[0].id', message: 'missing required field `id`' },
    ]);
  });

  it('reports a missing goal at the task line', () => {
    expect(issuesOf(parse('tasks:\n  - id: a\n  - id: b\n    goal: g\n'))).toEqual([
      { file: FILE, line: 2, column: 5, field: 'tasks[0].goal', message: 'missing required field `goal`' },
    ]);
  });

  it('reports an empty goal at its key', () => {
    expect(issuesOf(parse('tasks:\n  - id: a\n    goal: "  "\n'))).toEqual([
      { file: FILE, line: 3, column: 11, field: 'tasks[0].goal', message: 'must not be empty' },
    ]);
  });

  it('reports wrong-typed fields at their values', () => {
    const text = 'tasks:\n  - id: a\n    goal: b\n    constraints: ZERO-WARNINGS\n    budget_usd: cheap\n    context_files:\n      - ok.md\n      - 7\n';
    expect(issuesOf(parse(text))).toEqual([
      { file: FILE, line: 4, column: 18, field: 'tasks[0].constraints', message: 'must be a list, got a string' },
      { file: FILE, line: 5, column: 17, field: 'tasks[0].budget_usd', message: 'must be a number, got a string' },
      { file: FILE, line: 8, column: 9, field: 'tasks[0].context_files[1]', message: 'must be a string, got a number (7) (put it in quotes)' },
    ]);
  });

  it('tells to quote an id that YAML reads as a number', () => {
    expect(issuesOf(parse('tasks:\n  - id: 42\n    goal: b\n'))).toEqual([
      { file: FILE, line: 2, column: 9, field: 'tasks[0].id', message: 'must be a string, got a number (42) (put it in quotes)' },
    ]);
  });

  it('reports an id that cannot be a branch name', () => {
    expect(issuesOf(parse('tasks:\n  - id: "fix the bug"\n    goal: b\n'))).toEqual([
      {
        file: FILE,
        line: 2,
        column: 9,
        field: 'tasks[0].id',
        message: '`fix the bug` must be 1-64 letters, digits, "-" or "_", starting with a letter or digit',
      },
    ]);
  });

  it('reports an unknown risk with the allowed values', () => {
    expect(issuesOf(parse('tasks:\n  - id: a\n    goal: b\n    risk: extreme\n'))).toEqual([
      { file: FILE, line: 4, column: 11, field: 'tasks[0].risk', message: 'unknown risk `extreme` (allowed: high, medium, low)' },
    ]);
  });

  it('reports an unknown area with the allowed values', () => {
    expect(issuesOf(parse('tasks:\n  - id: a\n    goal: b\n    area: frontend\n'))).toEqual([
      {
        file: FILE,
        line: 4,
        column: 11,
        field: 'tasks[0].area',
        message: 'unknown area `frontend` (allowed: core, math, api, services, docs, comments, tests, general)',
      },
    ]);
  });

  it('reports a duplicate id at the second one and names the first line', () => {
    expect(issuesOf(parse('tasks:\n  - id: a\n    goal: b\n  - id: c\n    goal: d\n  - id: a\n    goal: e\n'))).toEqual([
      { file: FILE, line: 6, column: 9, field: 'tasks[2].id', message: 'duplicate task id `a` (first defined at line 2)' },
    ]);
  });

  it('collects every problem of every task into one error, in file order', () => {
    const text = 'tasks:\n  - id: a\n    risk: extreme\n  - id: b\n    goal: g\n    area: nowhere\n    prio: high\n';
    let thrown: unknown;
    try {
      parseTasksYaml(text, FILE);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InputError);
    const issues = (thrown as InputError).issues;
    expect(issues.map((issue) => [issue.line, issue.field])).toEqual([
      [2, 'tasks[0].goal'],
      [3, 'tasks[0].risk'],
      [6, 'tasks[1].area'],
      [7, 'tasks[1].prio'],
    ]);
    expect((thrown as InputError).message.split('\n')[0]).toBe('tasks.yaml:2:5: tasks[0].goal: missing required field `goal`');
  });
});
