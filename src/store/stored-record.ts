import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { StoreError, errorMessage } from '../platform/errors.js';
import { isErrno } from '../platform/fs/directory-sync.js';
import type { StoreEntry } from './store.js';

/**
 * One line of JSON per version, the same in a key's file and in the journal. A deleted key keeps a
 * tombstone so that a re-created key never repeats an old revision: a writer holding a revision
 * from before the delete gets a conflict, not a lost update.
 */
const StoredRecordSchema = z.union([
  z.strictObject({ key: z.string(), revision: z.number().int().positive(), value: z.unknown() }),
  z.strictObject({ key: z.string(), revision: z.number().int().positive(), deleted: z.literal(true) }),
]);

export interface StoredRecord {
  readonly revision: number;
  /** Undefined for a tombstone. */
  readonly entry: StoreEntry | undefined;
}

/** What a writer needs to know of a key: its last revision, and whether that is a tombstone. */
export interface KeyState {
  readonly revision: number;
  readonly live: boolean;
}

/** The line of a new version; `body` is the value's JSON, undefined for a tombstone. */
export function recordLine(key: string, revision: number, body: string | undefined): string {
  return body === undefined ? `{"key":"${key}","revision":${revision},"deleted":true}\n` : `{"key":"${key}","revision":${revision},"value":${body}}\n`;
}

export function parseRecord(file: string, key: string, text: string): StoredRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new StoreError('corrupt', `${file}: not valid JSON (${errorMessage(error)}); restore or delete the file`, { cause: error });
  }
  const parsed = StoredRecordSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? '' : `${issue.path.map(String).join('.')}: `;
    throw new StoreError('corrupt', `${file}: not a store record: ${where}${issue?.message ?? 'invalid'}`);
  }
  const record = parsed.data;
  if (record.key !== key) throw new StoreError('corrupt', `${file}: holds key ${JSON.stringify(record.key)}, expected ${JSON.stringify(key)}`);
  if ('deleted' in record) return { revision: record.revision, entry: undefined };
  if (!(raw instanceof Object && 'value' in raw)) throw new StoreError('corrupt', `${file}: value: missing`);
  return { revision: record.revision, entry: { key, value: record.value, revision: record.revision } };
}

/** A journal line (or a file's text) as the record of `key`; throws StoreError('corrupt') otherwise. */
export function recordOfLine(key: string, line: string): StoredRecord {
  return parseRecord(`the journal entry of ${key}`, key, line);
}

/** The revision of a record line as recordLine writes it (`{"key":"<key>","revision":<n>,...`); 0 for anything else. */
export function revisionOfLine(line: string): number {
  const at = line.indexOf('","revision":');
  return at < 0 ? 0 : Number.parseInt(line.slice(at + '","revision":'.length, at + '","revision":'.length + 16), 10) || 0;
}

/** The key of a record line as recordLine writes it (`{"key":"<key>",...`); '' for anything else. */
export function keyOfLine(line: string): string {
  const start = '{"key":"'.length;
  if (!line.startsWith('{"key":"')) return '';
  const end = line.indexOf('"', start);
  return end < 0 ? '' : line.slice(start, end);
}

export function stateOfRecord(record: StoredRecord | undefined): KeyState {
  return { revision: record?.revision ?? 0, live: record?.entry !== undefined };
}

/** The record in a key's file; undefined when there is no file. */
export async function readRecordFile(file: string, key: string): Promise<StoredRecord | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return undefined;
    throw new StoreError('unavailable', `cannot read ${file}: ${errorMessage(error)}`, { cause: error });
  }
  return parseRecord(file, key, text);
}

/**
 * The state of a key's file, read synchronously: a small file (or a missing one) that the page
 * cache usually answers, so that a caller can keep the order of its calls.
 */
export function readStateSync(file: string, key: string): KeyState {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (!isErrno(error, 'ENOENT')) throw new StoreError('unavailable', `cannot read ${file}: ${errorMessage(error)}`, { cause: error });
    return { revision: 0, live: false };
  }
  return stateOfRecord(parseRecord(file, key, text));
}
