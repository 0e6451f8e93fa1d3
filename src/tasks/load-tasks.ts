import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { InputError, errorMessage } from '../platform/errors.js';
import type { InputIssue } from '../platform/errors.js';
import { closestName } from './closest-name.js';
import { parseTaskMarkdown } from './parse-task-md.js';
import { parseTasksYaml } from './parse-tasks-yaml.js';
import type { TaskSpec } from '../model/task-spec.js';

export interface LoadedTask {
  readonly spec: TaskSpec;
  /** Absolute path of the file the task came from. */
  readonly file: string;
  /** Absolute folder of that file; a relative `repo:` is resolved against it. */
  readonly dir: string;
}

const TASK_FILE = /(\.task\.md|\.ya?ml)$/i;
/** A folder scan must not mistake tandem's own config, which usually sits beside the tasks, for a task file. */
const NOT_TASK_FILES = new Set(['tandem.config.yaml', 'tandem.config.yml']);

function isYaml(file: string): boolean {
  return /\.ya?ml$/i.test(file);
}

function code(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

/** The task files a path names: itself, or a folder's task files (not recursive, dotfiles skipped), by name. */
async function expand(given: string, issues: InputIssue[]): Promise<string[]> {
  const file = path.resolve(given);
  let stats;
  try {
    stats = await stat(file);
  } catch (error) {
    issues.push({ file, message: code(error) === 'ENOENT' ? 'no such file or folder' : `cannot read: ${errorMessage(error)}` });
    return [];
  }
  if (!stats.isDirectory()) {
    if (TASK_FILE.test(file)) return [file];
    const hint = /\.md$/i.test(file) ? ` (rename it to ${path.basename(file, path.extname(file))}.task.md)` : '';
    issues.push({ file, message: `unsupported file type; expected *.yaml, *.yml, *.task.md or a folder${hint}` });
    return [];
  }
  let names: string[];
  try {
    names = await readdir(file);
  } catch (error) {
    issues.push({ file, message: `cannot read folder: ${errorMessage(error)}` });
    return [];
  }
  const files = names
    .filter((name) => TASK_FILE.test(name) && !name.startsWith('.') && !NOT_TASK_FILES.has(name))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((name) => path.join(file, name));
  if (files.length === 0) issues.push({ file, message: 'the folder holds no task files (*.task.md, *.yaml, *.yml)' });
  return files;
}

async function loadFile(file: string, issues: InputIssue[]): Promise<LoadedTask[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    issues.push({ file, message: `cannot read: ${errorMessage(error)}` });
    return [];
  }
  try {
    const specs = isYaml(file) ? parseTasksYaml(text, file) : [parseTaskMarkdown(text, file)];
    return specs.map((spec) => ({ spec, file, dir: path.dirname(file) }));
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    issues.push(...error.issues);
    return [];
  }
}

function idField(task: LoadedTask, indexInFile: number): string {
  return isYaml(task.file) ? `tasks[${indexInFile}].id` : 'id';
}

function duplicateIssues(tasks: readonly LoadedTask[]): InputIssue[] {
  const issues: InputIssue[] = [];
  const first = new Map<string, LoadedTask>();
  const perFile = new Map<string, number>();
  for (const task of tasks) {
    const index = perFile.get(task.file) ?? 0;
    perFile.set(task.file, index + 1);
    const earlier = first.get(task.spec.id);
    if (earlier === undefined) {
      first.set(task.spec.id, task);
      continue;
    }
    const where = earlier.spec.source?.line === undefined ? earlier.file : `${earlier.file}:${earlier.spec.source.line}`;
    issues.push({
      file: task.file,
      line: task.spec.source?.line,
      field: idField(task, index),
      message: `duplicate task id \`${task.spec.id}\` (also defined in ${where})`,
    });
  }
  return issues;
}

/**
 * Reads task files and folders without starting anything. Every file is read even when an earlier one
 * is bad, and ids must be unique across all of them; all problems come back as one InputError.
 */
export async function loadTaskFiles(paths: readonly string[]): Promise<LoadedTask[]> {
  const issues: InputIssue[] = [];
  const files: string[] = [];
  for (const given of paths) {
    for (const file of await expand(given, issues)) {
      // The same file named twice (directly and through its folder) is one source, not a duplicate.
      if (!files.includes(file)) files.push(file);
    }
  }
  const tasks: LoadedTask[] = [];
  for (const file of files) tasks.push(...(await loadFile(file, issues)));
  issues.push(...duplicateIssues(tasks));
  if (issues.length > 0) throw new InputError(issues);
  return tasks;
}

/**
 * Only the tasks asked for by id (`tandem run --task ID`, repeatable), in file order. An id no file
 * defines is bad input, named with the files searched and the nearest id when one is close.
 */
export function selectTasks(tasks: readonly LoadedTask[], ids: readonly string[]): LoadedTask[] {
  if (ids.length === 0) return [...tasks];
  const known = tasks.map((t) => t.spec.id);
  const files = [...new Set(tasks.map((t) => t.file))];
  const issues: InputIssue[] = ids
    .filter((id) => !known.includes(id))
    .map((id) => {
      const near = closestName(id, known);
      return {
        file: files[0] ?? 'command line',
        line: 1,
        field: '--task',
        message: `no task \`${id}\` in ${files.join(', ') || 'the given files'}${near === undefined ? '' : ` (did you mean \`${near}\`?)`}; known ids: ${known.join(', ') || 'none'}`,
      };
    });
  if (issues.length > 0) throw new InputError(issues);
  return tasks.filter((t) => ids.includes(t.spec.id));
}
