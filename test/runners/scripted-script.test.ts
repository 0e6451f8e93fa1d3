import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  CodeReviewSchema,
  FindingsReportSchema,
  ImplementationReportSchema,
  isReportStep,
  PlanReviewSchema,
  PlanSchema,
} from '../../src/model/role-outputs.js';
import { loadScript, parseScript } from '../../src/runners/scripted-script.js';
import type { ScriptTurns } from '../../src/runners/scripted-script.js';
import { InputError } from '../../src/platform/errors.js';
import type { InputIssue } from '../../src/platform/errors.js';
import { TaskSpecSchema } from '../../src/model/task-spec.js';

function issuesOf(text: string): readonly InputIssue[] {
  try {
    parseScript(text, 'script.yaml');
  } catch (error) {
    if (error instanceof InputError) return error.issues;
    throw error;
  }
  throw new Error('expected an InputError');
}

describe('parseScript', () => {
  it('parses a script and fills the defaults', () => {
    const script = parseScript(
      ['tasks:', '  T-1:', '    planner:', '      - respond: { task_id: T-1 }', '        before: [ { fail: timeout } ]'].join('\n'),
      'script.yaml',
    );
    expect(script).toEqual({ defaults: {}, tasks: { 'T-1': { planner: [{ respond: { task_id: 'T-1' }, before: [{ fail: 'timeout' }] }] } } });
  });

  it('points at the line, column and field of an unknown key', () => {
    const text = ['tasks:', '  T-1:', '    steps:', '      S1:', '        implementor:', '          - respond: {}'].join('\n');
    expect(issuesOf(text)).toEqual([{ file: 'script.yaml', line: 5, column: 9, field: 'tasks.T-1.steps.S1.implementor', message: 'is not a known field' }]);
  });

  it('reports every schema problem with its line', () => {
    const text = [
      'defaults:', //                       1
      '  planner:', //                      2
      '    - respond: {}', //               3
      '      fail: auth', //                4
      'tasks:', //                          5
      '  T-1:', //                          6
      '    steps:', //                      7
      '      S1:', //                       8
      '        implementer:', //            9
      '          - edits:', //             10
      '              - path: a.js', //     11
      '            respond: {}', //        12
      '          - before: [ { fail: exploded } ]', // 13
      '            respond: {}', //        14
      '    planner: []', //                15
    ].join('\n');
    expect(issuesOf(text)).toEqual([
      {
        file: 'script.yaml',
        line: 4,
        column: 13,
        field: 'defaults.planner[0].fail',
        message: 'a turn has both respond and fail; give only one of respond, respond_text, raw, fail, hang',
      },
      {
        file: 'script.yaml',
        line: 11,
        column: 17,
        field: 'tasks.T-1.steps.S1.implementer[0].edits[0]',
        message: 'an edit needs one of content, delete, replace',
      },
      {
        file: 'script.yaml',
        line: 13,
        column: 31,
        field: 'tasks.T-1.steps.S1.implementer[1].before[0].fail',
        message: expect.stringContaining('rate_limit') as string,
      },
      { file: 'script.yaml', line: 15, column: 14, field: 'tasks.T-1.planner', message: 'needs at least one turn' },
    ]);
  });

  it('rejects a task id that cannot be a branch name, at the key', () => {
    const issues = issuesOf(['tasks:', '  "bad id!":', '    planner: [ { respond: 1 } ]'].join('\n'));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ file: 'script.yaml', line: 2, column: 3, field: 'tasks.bad id!' });
    expect(issues[0]?.message).toMatch(/^invalid name: must be 1-64 letters/);
  });

  it('rejects options that only go with fail, and edits on answers without respond', () => {
    const text = ['tasks:', '  T-1:', '    planner:', '      - raw: hi', '        retry_after_ms: 5', '        edits: [ { path: a, delete: true } ]'].join(
      '\n',
    );
    expect(issuesOf(text)).toEqual([
      { file: 'script.yaml', line: 5, column: 25, field: 'tasks.T-1.planner[0].retry_after_ms', message: 'is only allowed together with fail' },
      { file: 'script.yaml', line: 6, column: 16, field: 'tasks.T-1.planner[0].edits', message: 'is only allowed together with respond or respond_text' },
    ]);
  });

  it('reports YAML syntax errors and duplicate keys with their line', () => {
    const broken = issuesOf(['tasks:', '  T-1:', '    planner:', '      - respond: { a: 1', '  T-2: {}'].join('\n'));
    expect(broken.length).toBeGreaterThan(0);
    expect(broken[0]).toMatchObject({ file: 'script.yaml', line: 5 });
    expect(broken[0]?.message).toMatch(/^invalid YAML: /);
    const duplicate = issuesOf(['tasks:', '  T-1: {}', '  T-1: {}'].join('\n'));
    expect(duplicate).toEqual([
      { file: 'script.yaml', line: 3, column: 3, message: expect.stringMatching(/^invalid YAML: Map keys must be unique/) as string },
    ]);
  });

  it('rejects an empty script', () => {
    expect(issuesOf('# nothing here\n')).toEqual([{ file: 'script.yaml', message: 'the script is empty' }]);
  });
});

describe('loadScript', () => {
  it('names the file it cannot read', async () => {
    const missing = path.join(path.dirname(fileURLToPath(import.meta.url)), 'no-such-script.yaml');
    await expect(loadScript(missing)).rejects.toThrow(InputError);
    await expect(loadScript(missing)).rejects.toThrow(`${missing}: cannot read the script: ENOENT`);
  });
});

describe('the demo script (examples/demo)', () => {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const demoRepo = path.join(root, 'examples/demo-repo');
  const tasksFile = path.join(root, 'examples/demo/tasks.yaml');
  const tasks = (parse(readFileSync(tasksFile, 'utf8')) as { tasks: unknown[] }).tasks.map((task) => TaskSpecSchema.parse(task));
  const responds = (turns: ScriptTurns | undefined): unknown[] => (turns ?? []).map((turn) => turn.respond);

  it('lists four valid tasks whose context files exist in the demo repository', () => {
    expect(tasks.map((task) => [task.id, task.risk])).toEqual([
      ['DEMO-1', 'low'],
      ['DEMO-2', 'medium'],
      ['DEMO-3', 'medium'],
      ['DEMO-4', 'low'],
    ]);
    for (const task of tasks) {
      expect(task.context_files.length).toBeGreaterThan(0);
      for (const file of task.context_files) expect(existsSync(path.join(demoRepo, file)), `${task.id}: ${file}`).toBe(true);
    }
  });

  it('has valid plans for every task, and implementer answers for every planned step', async () => {
    const script = await loadScript(path.join(root, 'examples/demo/script.yaml'));
    for (const task of tasks) {
      const entry = script.tasks[task.id];
      const plans = responds(entry?.planner).map((respond) => PlanSchema.parse(respond));
      expect(plans.length, task.id).toBeGreaterThan(0);
      for (const plan of plans) {
        expect(plan.task_id).toBe(task.id);
        for (const step of plan.steps) {
          const implementer = entry?.steps?.[step.id]?.implementer ?? [];
          expect(implementer.length, `${task.id} ${step.id}`).toBeGreaterThan(0);
          for (const turn of implementer) {
            // A report step (or any step of an analysis task) answers with findings and edits nothing.
            if (isReportStep(task, step)) {
              expect(turn.edits, `${task.id} ${step.id} edits`).toBeUndefined();
              FindingsReportSchema.parse(turn.respond);
              continue;
            }
            expect(turn.edits?.length, `${task.id} ${step.id} edits`).toBeGreaterThan(0);
            ImplementationReportSchema.parse(turn.respond);
          }
        }
      }
      for (const respond of [...responds(entry?.['plan-reviewer']), ...responds(script.defaults['plan-reviewer'])]) PlanReviewSchema.parse(respond);
      for (const step of Object.values(entry?.steps ?? {})) for (const respond of responds(step['code-reviewer'])) CodeReviewSchema.parse(respond);
      for (const respond of responds(script.defaults['code-reviewer'])) CodeReviewSchema.parse(respond);
    }
  });

  it('tells the story the demo promises', async () => {
    const script = await loadScript(path.join(root, 'examples/demo/script.yaml'));
    const statuses = (turns: ScriptTurns | undefined): unknown[] => responds(turns).map((r) => (r as { status: string }).status);
    expect(statuses(script.tasks['DEMO-1']?.['plan-reviewer'])).toEqual(['approved']);
    expect(script.tasks['DEMO-1']?.steps?.S1?.['code-reviewer']).toBeUndefined();
    expect(statuses(script.defaults['code-reviewer'])).toEqual(['approved']);
    expect(statuses(script.tasks['DEMO-2']?.['plan-reviewer'])).toEqual(['needs_revision', 'approved']);
    expect(PlanReviewSchema.parse(script.tasks['DEMO-2']?.['plan-reviewer']?.[0]?.respond).review.missing_steps).toHaveLength(1);
    expect(statuses(script.tasks['DEMO-2']?.steps?.S1?.['code-reviewer'])).toEqual(['needs_changes', 'approved']);
    expect(CodeReviewSchema.parse(script.tasks['DEMO-2']?.steps?.S1?.['code-reviewer']?.[0]?.respond).review.required_changes).toHaveLength(2);
    expect(script.tasks['DEMO-3']?.planner?.[0]?.before).toEqual([
      { raw: 'Sure! Here is the plan: first I will look at src/money.js, then add commas to formatCents.' },
    ]);
    expect(script.tasks['DEMO-3']?.steps?.S1?.implementer).toHaveLength(2);
  });
});
