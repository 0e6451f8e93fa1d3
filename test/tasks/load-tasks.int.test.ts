import { copyFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadTaskFiles } from '../../src/tasks/load-tasks.js';
import { asyncIssuesOf } from './catch-issues.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/tasks/', import.meta.url));

let root: string;

beforeEach(() => {
  root = realpathSync(mkdtempSync(path.join(tmpdir(), 'tandem-load-tasks-')));
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function write(relative: string, text: string): string {
  const file = path.join(root, relative);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

const md = (id: string) => `---\nid: ${id}\n---\n# Task: ${id}\n\n**Prompt:**\nDo ${id}.\n`;
const yaml = (...ids: string[]) => `tasks:\n${ids.map((id) => `  - id: ${id}\n    goal: do ${id}\n`).join('')}`;

describe('loadTaskFiles', () => {
  it('loads a tasks.yaml and a *.task.md given directly, with absolute file and dir', async () => {
    copyFileSync(path.join(FIXTURES, 'tasks.yaml'), path.join(root, 'tasks.yaml'));
    copyFileSync(path.join(FIXTURES, 'fix-db.task.md'), path.join(root, 'fix-db.task.md'));
    const tasks = await loadTaskFiles([path.join(root, 'tasks.yaml'), path.join(root, 'fix-db.task.md')]);
    expect(tasks.map((task) => [task.spec.id, task.file, task.dir, { file: task.spec.source?.file, line: task.spec.source?.line }])).toEqual([
      ['RAE-001', path.join(root, 'tasks.yaml'), root, { file: path.join(root, 'tasks.yaml'), line: 3 }],
      ['RAE-002', path.join(root, 'tasks.yaml'), root, { file: path.join(root, 'tasks.yaml'), line: 16 }],
      ['task_001', path.join(root, 'fix-db.task.md'), root, { file: path.join(root, 'fix-db.task.md'), line: 2 }],
    ]);
  });

  it('loads every task file directly in a folder, sorted by name, and nothing else', async () => {
    write('tasks/b.task.md', md('b'));
    write('tasks/a.yml', yaml('a1', 'a2'));
    write('tasks/c.yaml', yaml('c'));
    write('tasks/notes.md', '# not a task');
    write('tasks/readme.txt', 'hello');
    write('tasks/.hidden.yaml', 'not: tasks');
    write('tasks/tandem.config.yaml', 'models: {}');
    write('tasks/nested/d.task.md', md('d'));
    const tasks = await loadTaskFiles([path.join(root, 'tasks')]);
    expect(tasks.map((task) => [task.spec.id, path.basename(task.file)])).toEqual([
      ['a1', 'a.yml'],
      ['a2', 'a.yml'],
      ['b', 'b.task.md'],
      ['c', 'c.yaml'],
    ]);
  });

  it('resolves relative paths against the process cwd', async () => {
    const file = write('rel.task.md', md('rel'));
    const tasks = await loadTaskFiles([path.relative(process.cwd(), file)]);
    expect(tasks.map((task) => [task.file, task.dir])).toEqual([[file, root]]);
  });

  it('counts a file named twice (directly and through its folder) once', async () => {
    const file = write('tasks/a.task.md', md('a'));
    const tasks = await loadTaskFiles([file, path.join(root, 'tasks')]);
    expect(tasks.map((task) => task.spec.id)).toEqual(['a']);
  });

  it('reports a path that does not exist', async () => {
    const missing = path.join(root, 'nope.yaml');
    expect(await asyncIssuesOf(() => loadTaskFiles([missing]))).toEqual([{ file: missing, message: 'no such file or folder' }]);
  });

  it('reports an unsupported extension, suggesting .task.md for a markdown file', async () => {
    const txt = write('tasks.txt', 'tasks: []');
    const plainMd = write('fix.md', md('x'));
    expect(await asyncIssuesOf(() => loadTaskFiles([txt, plainMd]))).toEqual([
      { file: txt, message: 'unsupported file type; expected *.yaml, *.yml, *.task.md or a folder' },
      { file: plainMd, message: 'unsupported file type; expected *.yaml, *.yml, *.task.md or a folder (rename it to fix.task.md)' },
    ]);
  });

  it('reports a task file in a folder that cannot be read', async () => {
    mkdirSync(path.join(root, 'tasks'));
    const broken = path.join(root, 'tasks', 'broken.task.md');
    symlinkSync(path.join(root, 'gone.task.md'), broken);
    expect(await asyncIssuesOf(() => loadTaskFiles([path.join(root, 'tasks')]))).toEqual([
      { file: broken, message: `cannot read: ENOENT: no such file or directory, open '${broken}'` },
    ]);
  });

  it('reports a folder without task files', async () => {
    write('empty/readme.txt', 'nothing');
    const folder = path.join(root, 'empty');
    expect(await asyncIssuesOf(() => loadTaskFiles([folder]))).toEqual([
      { file: folder, message: 'the folder holds no task files (*.task.md, *.yaml, *.yml)' },
    ]);
  });

  it('reports the problems of every file, not only the first bad one', async () => {
    const badYaml = write('tasks/a.yaml', 'tasks:\n  - id: a\n    goal: g\n    risk: extreme\n');
    const badMd = write('tasks/b.task.md', '---\nid: b\n---\n# Task: no prompt\n');
    write('tasks/c.task.md', md('c'));
    const missing = path.join(root, 'missing.task.md');
    expect(await asyncIssuesOf(() => loadTaskFiles([path.join(root, 'tasks'), missing]))).toEqual([
      { file: missing, message: 'no such file or folder' },
      { file: badYaml, line: 4, column: 11, field: 'tasks[0].risk', message: 'unknown risk `extreme` (allowed: high, medium, low)' },
      { file: badMd, line: 4, field: 'goal', message: 'missing the **Prompt:** section, which states the task' },
    ]);
  });

  it('reports an id used in two files, naming both files and lines', async () => {
    const first = write('a.yaml', yaml('one', 'shared'));
    const second = write('b.task.md', md('shared'));
    const third = write('c.yaml', yaml('x', 'one'));
    expect(await asyncIssuesOf(() => loadTaskFiles([first, second, third]))).toEqual([
      { file: second, line: 2, field: 'id', message: `duplicate task id \`shared\` (also defined in ${first}:4)` },
      { file: third, line: 4, field: 'tasks[1].id', message: `duplicate task id \`one\` (also defined in ${first}:2)` },
    ]);
  });
});
