import { createHash, randomUUID } from 'node:crypto';
import { copyFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { git } from './git.js';

type DiffFileStatus = 'added' | 'modified' | 'deleted' | 'renamed';

/** One file of a worktree's diff against its base, as git reports it (read from git, never from a message). */
interface DiffFile {
  readonly path: string;
  readonly status: DiffFileStatus;
  /** Previous path of a renamed file. */
  readonly oldPath?: string | undefined;
  /** Zero for binary files, whose lines git does not count. */
  readonly insertions: number;
  readonly deletions: number;
}

export interface WorktreeDiff {
  readonly patch: string;
  readonly files: DiffFile[];
  readonly insertions: number;
  readonly deletions: number;
  /** sha256 of the patch: the same edits twice give the same fingerprint ("no progress"). */
  readonly fingerprint: string;
}

/**
 * Pins the output format against user config (diff.noprefix, diff.mnemonicPrefix, color.diff,
 * diff.external, textconv filters) so reviewers and fingerprints always see the same patch.
 */
const DIFF_ARGS = [
  '-c',
  'core.quotePath=false',
  'diff',
  '--cached',
  '--no-color',
  '--no-ext-diff',
  '--no-textconv',
  '--find-renames',
  '--src-prefix=a/',
  '--dst-prefix=b/',
];

/**
 * All uncommitted changes of a worktree against HEAD, untracked files included; against `base`
 * instead, the whole branch since that commit (what the validator checks).
 *
 * Untracked files only show in a diff once they are in an index. Rather than `git add -N` (which
 * writes the worktree's real index, races with an agent that runs git itself and leaves intent-to-add
 * entries behind), the changes are staged into a throwaway copy of the index through GIT_INDEX_FILE.
 * Copying the real index (instead of `read-tree HEAD` into an empty one) keeps its stat cache, so
 * `git add -A` only re-hashes files that changed, even in a large repository.
 */
export async function worktreeDiff(path: string, base = 'HEAD'): Promise<WorktreeDiff> {
  const gitDir = (await git(path, ['rev-parse', '--absolute-git-dir'])).stdout.trim();
  const tempIndex = join(gitDir, `tandem-diff-index-${randomUUID()}`);
  const env = { GIT_INDEX_FILE: tempIndex };
  try {
    const copied = await copyFile(join(gitDir, 'index'), tempIndex).then(
      () => true,
      () => false,
    );
    if (!copied) await git(path, ['read-tree', 'HEAD'], { env });
    await git(path, ['add', '-A'], { env });
    const [patch, nameStatus, numstat] = await Promise.all([
      git(path, [...DIFF_ARGS, base], { env }),
      git(path, [...DIFF_ARGS, '-z', '--name-status', base], { env }),
      git(path, [...DIFF_ARGS, '-z', '--numstat', base], { env }),
    ]);
    // The helper strips the final newline; a patch file ends with one.
    const patchText = patch.stdout === '' ? '' : `${patch.stdout}\n`;
    const files = mergeStats(parseNameStatus(nameStatus.stdout), parseNumstat(numstat.stdout));
    return {
      patch: patchText,
      files,
      insertions: files.reduce((sum, f) => sum + f.insertions, 0),
      deletions: files.reduce((sum, f) => sum + f.deletions, 0),
      fingerprint: createHash('sha256').update(patchText).digest('hex'),
    };
  } finally {
    await rm(tempIndex, { force: true });
  }
}

interface NameStatus {
  readonly path: string;
  readonly status: DiffFileStatus;
  readonly oldPath: string | undefined;
}

/** `-z --name-status`: `M\0path\0`, or `R087\0old\0new\0` for renames and copies. */
export function parseNameStatus(output: string): NameStatus[] {
  const tokens = output.split('\0');
  const entries: NameStatus[] = [];
  for (let i = 0; i < tokens.length; ) {
    const code = tokens[i] ?? '';
    if (code === '') {
      i += 1;
      continue;
    }
    const letter = code[0];
    if (letter === 'R' || letter === 'C') {
      const oldPath = tokens[i + 1] ?? '';
      const path = tokens[i + 2] ?? '';
      // A copy leaves the source in place, so for the reader it is a new file.
      entries.push(letter === 'R' ? { path, status: 'renamed', oldPath } : { path, status: 'added', oldPath: undefined });
      i += 3;
    } else {
      const status: DiffFileStatus = letter === 'A' ? 'added' : letter === 'D' ? 'deleted' : 'modified';
      entries.push({ path: tokens[i + 1] ?? '', status, oldPath: undefined });
      i += 2;
    }
  }
  return entries;
}

/** `-z --numstat`: `ins\tdel\tpath\0`, or `ins\tdel\t\0old\0new\0` for renames; `-` counts for binaries. */
export function parseNumstat(output: string): Map<string, { insertions: number; deletions: number }> {
  const tokens = output.split('\0');
  const stats = new Map<string, { insertions: number; deletions: number }>();
  for (let i = 0; i < tokens.length; ) {
    const record = tokens[i] ?? '';
    if (record === '') {
      i += 1;
      continue;
    }
    const [ins = '', del = '', ...rest] = record.split('\t');
    let path = rest.join('\t');
    i += 1;
    if (path === '') {
      path = tokens[i + 1] ?? '';
      i += 2;
    }
    stats.set(path, { insertions: count(ins), deletions: count(del) });
  }
  return stats;
}

function mergeStats(entries: readonly NameStatus[], stats: ReadonlyMap<string, { insertions: number; deletions: number }>): DiffFile[] {
  return entries.map((entry) => {
    const stat = stats.get(entry.path) ?? { insertions: 0, deletions: 0 };
    return {
      path: entry.path,
      status: entry.status,
      ...(entry.oldPath === undefined ? {} : { oldPath: entry.oldPath }),
      insertions: stat.insertions,
      deletions: stat.deletions,
    };
  });
}

function count(field: string): number {
  const n = Number(field);
  return Number.isInteger(n) && n >= 0 ? n : 0;
}
