import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RepoSnapshot } from './workspace.js';
import { git } from './git.js';

const MAX_FILES = 2_000;
const MAX_CONTEXT_FILES = 20;
const MAX_FILE_BYTES = 48_000;

/**
 * What the planner sees of the repository: its tracked files, status, and the task's context
 * files (a folder in `context_files` means the tracked files under it). Bounded so a large
 * repository cannot blow up the prompt.
 */
export async function repoSnapshot(cwd: string, contextFiles: readonly string[], signal?: AbortSignal): Promise<RepoSnapshot> {
  const opts = signal ? { signal } : {};
  const listed = await git(cwd, ['ls-files', '-z'], opts);
  const files = listed.stdout.split('\0').filter((f) => f.length > 0);
  const status = (await git(cwd, ['status', '--porcelain'], opts)).stdout;
  const wanted: string[] = [];
  for (const entry of contextFiles) {
    const prefix = entry.replace(/\/+$/, '');
    const matches = files.filter((f) => f === prefix || f.startsWith(`${prefix}/`));
    for (const m of matches) if (!wanted.includes(m)) wanted.push(m);
  }
  const context: { path: string; content: string }[] = [];
  for (const path of wanted.slice(0, MAX_CONTEXT_FILES)) {
    const content = await readFile(join(cwd, path), 'utf8').catch(() => undefined);
    if (content !== undefined)
      context.push({ path, content: content.length > MAX_FILE_BYTES ? `${content.slice(0, MAX_FILE_BYTES)}\n… [truncated]` : content });
  }
  return { files: files.slice(0, MAX_FILES), status, contextFiles: context };
}
