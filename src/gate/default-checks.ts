import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError, errorMessage } from '../platform/errors.js';
import type { GateCheckConfig } from '../gate/gate-options.js';

/** What `npm init` writes as the test script: it fails on purpose and says nothing about the code. */
const NPM_PLACEHOLDER = 'Error: no test specified';

/**
 * The checks used when the configuration names none: the repository's `npm test`, if it has a real
 * one. A repository without package.json has no default checks; an unreadable one is an input error.
 */
export async function detectDefaultChecks(repoDir: string): Promise<GateCheckConfig[]> {
  const file = join(repoDir, 'package.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new InputError([{ file, message: `cannot read: ${errorMessage(error)}` }], { cause: error });
  }
  let manifest: unknown;
  try {
    manifest = JSON.parse(text);
  } catch (error) {
    throw new InputError([{ file, message: `is not valid JSON: ${errorMessage(error)}` }], { cause: error });
  }
  const scripts = isRecord(manifest) ? manifest.scripts : undefined;
  const test = isRecord(scripts) ? scripts.test : undefined;
  if (typeof test !== 'string' || test.trim() === '' || test.includes(NPM_PLACEHOLDER)) return [];
  return [{ name: 'test', kind: 'tests', command: 'npm test --silent', timeout_ms: 300_000 }];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
