import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreError, errorMessage } from '../platform/errors.js';
import { tryAcquireLockFile } from '../platform/fs/dir-lock.js';
import { fsyncDirectory, isErrno } from '../platform/fs/directory-sync.js';
import { SYNC_PARALLEL, forEachLimit, fsyncFile, fsyncFolders, writeFileSynced } from './durable-files.js';
import { listSegments, readSegmentLines } from './file-journal.js';
import { assertKey } from './store.js';
import { keyOfLine, parseRecord, recordOfLine, revisionOfLine, type StoredRecord } from './stored-record.js';

/**
 * Reading a journal from outside its group commit: at open, to bring the files up to it (a crash
 * leaves it with versions that no file has yet); while retiring segments, to know which files to
 * make durable; and from a store without the lock, to see what the lock holder's files lack yet.
 */

/** The revision a key's file holds, or undefined when it is missing or no valid record (a torn write). */
async function revisionOnDisk(file: string, key: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return undefined;
    throw error;
  }
  try {
    return parseRecord(file, key, text).revision;
  } catch {
    return undefined;
  }
}

/**
 * Brings every key named in the journal to its last journaled version, durably, then deletes the
 * segments. Returns the number for the next segment. A file at that revision already is fsynced
 * (a crash may have left it in memory only); one behind it, missing or torn is rewritten.
 */
export async function replayJournal(root: string, journalDir: string, fileOf: (key: string) => string): Promise<number> {
  const segments = await listSegments(journalDir);
  const last = segments.at(-1);
  if (last === undefined) return 1;
  const latest = new Map<string, { revision: number; line: string }>();
  for (const segment of segments) {
    for (const line of await readSegmentLines(segment.path)) {
      const key = keyOfLine(line);
      let revision: number;
      try {
        assertKey(key);
        revision = recordOfLine(key, line).revision;
      } catch {
        // A torn write: nothing after it in this segment was ever acknowledged.
        break;
      }
      const seen = latest.get(key);
      if (seen === undefined || seen.revision < revision) latest.set(key, { revision, line: `${line}\n` });
    }
  }
  await forEachLimit([...latest], SYNC_PARALLEL, async ([key, { revision, line }]) => {
    const file = fileOf(key);
    const onDisk = await revisionOnDisk(file, key);
    if (onDisk === undefined || onDisk < revision) await writeFileSynced(file, line);
    else await fsyncFile(file);
  });
  await fsyncFolders(root, [...latest.keys()].map(fileOf));
  for (const segment of segments) await rm(segment.path, { force: true });
  await fsyncDirectory(journalDir);
  return last.number + 1;
}

/**
 * An unlocked store writes no journal, but it may find one that a crashed lock holder left. If the
 * lock is free it replays it (holding the lock meanwhile); if a live process holds the lock, that
 * process replayed the journal when it opened the store and keeps it (readers look into it).
 */
export async function replayUnlocked(root: string, journalDir: string, fileOf: (key: string) => string): Promise<void> {
  if ((await listSegments(journalDir)).length === 0) return;
  const claim = await tryAcquireLockFile(join(root, '.lock'));
  if ('heldBy' in claim) return;
  try {
    await replayJournal(root, journalDir, fileOf);
    await rm(journalDir, { recursive: true, force: true });
    await fsyncDirectory(root);
  } finally {
    await claim.release();
  }
}

/** The highest revision of each key named in these segments: what their retirement must find in the files. */
export async function revisionsIn(segments: readonly string[]): Promise<Map<string, number>> {
  const needed = new Map<string, number>();
  for (const segment of segments) {
    for (const line of await readSegmentLines(segment)) {
      const key = keyOfLine(line);
      if (key !== '') needed.set(key, Math.max(needed.get(key) ?? 0, revisionOfLine(line)));
    }
  }
  return needed;
}

/** What the journal of the lock holder has that its files may not have yet (undefined when there is no journal). */
export async function journalView(journalDir: string, wanted: (key: string) => boolean): Promise<Map<string, StoredRecord> | undefined> {
  const segments = await listSegments(journalDir);
  if (segments.length === 0) return undefined;
  // The newest line of each wanted key first (cheaply, from the line's head); only those are parsed.
  const newest = new Map<string, { revision: number; line: string }>();
  for (const segment of segments) {
    let lines: string[];
    try {
      lines = await readSegmentLines(segment.path);
    } catch (error) {
      // Retired while we looked: its versions are in the files, which are read after this.
      if (isErrno(error, 'ENOENT')) continue;
      throw new StoreError('unavailable', `cannot read ${segment.path}: ${errorMessage(error)}`, { cause: error });
    }
    for (const line of lines) {
      const key = keyOfLine(line);
      if (!wanted(key)) continue;
      const revision = revisionOfLine(line);
      const seen = newest.get(key);
      if (seen === undefined || seen.revision < revision) newest.set(key, { revision, line });
    }
  }
  const view = new Map<string, StoredRecord>();
  for (const [key, { line }] of newest) {
    try {
      view.set(key, recordOfLine(key, line));
    } catch {
      // Only a write torn by a crash can fail here, and the lock holder replayed those when it opened: the file has the key.
    }
  }
  return view;
}
