import { InputError } from '../../src/platform/errors.js';
import type { InputIssue } from '../../src/platform/errors.js';

/** The issues of the InputError `run` throws; fails the test when it throws anything else or nothing. */
export function issuesOf(run: () => unknown): readonly InputIssue[] {
  try {
    run();
  } catch (error) {
    if (error instanceof InputError) return error.issues;
    throw error;
  }
  throw new Error('expected an InputError, but nothing was thrown');
}

export async function asyncIssuesOf(run: () => Promise<unknown>): Promise<readonly InputIssue[]> {
  try {
    await run();
  } catch (error) {
    if (error instanceof InputError) return error.issues;
    throw error;
  }
  throw new Error('expected an InputError, but nothing was thrown');
}
