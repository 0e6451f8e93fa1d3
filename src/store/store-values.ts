import { StoreError } from '../platform/errors.js';
import type { PutOptions } from './store.js';

/**
 * Store values travel as JSON in every implementation (files, NATS KV), so the in-memory store uses
 * JSON too: a caller sees the same copy semantics (no shared objects, no `undefined` fields, no
 * Dates coming back as Dates) whichever store runs.
 */
export function serializeValue(key: string, value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new TypeError(`store value for ${key} is not JSON-serializable: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (text === undefined) throw new TypeError(`store value for ${key} is not JSON-serializable: ${typeof value}`);
  return text;
}

/**
 * Revision check shared by the stores. `current` is the live revision, undefined when the key does
 * not exist (never written, or deleted).
 */
export function checkExpectedRevision(key: string, current: number | undefined, options: PutOptions | undefined): void {
  const expected = options?.expectedRevision;
  if (expected === undefined) return;
  if (!Number.isInteger(expected) || expected < 0) throw new TypeError(`expectedRevision for ${key} must be a non-negative integer, got ${expected}`);
  if (expected === (current ?? 0)) return;
  const actual = current === undefined ? 'it does not exist' : `it is at revision ${current}`;
  throw new StoreError('conflict', `${key}: expected revision ${expected}, but ${actual}`);
}

/** Key order of `list`, the same everywhere: plain UTF-16 code unit order. */
export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function keyHasPrefix(key: string, prefix: string): boolean {
  return key === prefix || key.startsWith(`${prefix}.`);
}
