import { readFile, stat } from 'node:fs/promises';
import type { z } from 'zod';
import type { GateCheckConfigSchema } from './gate-options.js';
import { InputError, errorMessage } from '../platform/errors.js';

/** What detection proposes, before the config schema fills in defaults. */
export type CheckInput = z.input<typeof GateCheckConfigSchema>;

export const OUT = '$TANDEM_GATE_OUT';
/**
 * Tests and the API check are skipped only for TRIVIAL changes, which change no executable code
 * (docs, comments, layout); any change of code runs them.
 */
export const NOT_TRIVIAL = ['SMALL', 'MEDIUM', 'LARGE'] as const;
/**
 * Go and Python API checks are `custom`, not `api`: the config schema still ties `kind: api` to
 * `parser: declarations`. The ratchet compares their exports all the same (it goes by the parser).
 */
export const API_CHECK_KIND = 'api';
/** Folders that hold no library code: never searched for packages. */
export const NOT_LIBRARY = new Set([
  'tests',
  'test',
  'testing',
  'testdata',
  'docs',
  'examples',
  'vendor',
  'internal',
  'node_modules',
  'build',
  'dist',
  'venv',
  'site-packages',
]);

export function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

export async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

export async function readText(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').catch(() => undefined);
}

export async function readJson(file: string): Promise<Record<string, unknown> | undefined> {
  const text = await readText(file);
  if (text === undefined) return undefined;
  try {
    return record(JSON.parse(text));
  } catch (error) {
    throw new InputError([{ file, message: `is not valid JSON: ${errorMessage(error)}` }], { cause: error });
  }
}
