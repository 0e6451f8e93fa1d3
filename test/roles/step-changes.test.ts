import { describe, expect, it } from 'vitest';
import { missingChange, NoChangeReason } from '../../src/roles/step-changes.js';

const step = (type: 'implementation' | 'analysis' | 'validation' | 'docs', files_to_modify: string[] = [], files_to_create: string[] = []) => ({
  type,
  files_to_modify,
  files_to_create,
});

describe('missingChange', () => {
  it('a code step with an empty diff made no change', () => {
    expect(missingChange(step('implementation'), [])).toBe(NoChangeReason.empty);
    expect(missingChange(step('docs', ['README.md']), [])).toBe(NoChangeReason.empty);
  });

  it('a code step that changed none of its planned files did not touch them', () => {
    expect(missingChange(step('implementation', ['src/a.ts'], ['src/b.ts']), ['notes.txt'])).toBe(NoChangeReason.plannedUntouched);
  });

  it('any planned file counts, named loosely or as a folder', () => {
    expect(missingChange(step('implementation', ['./src/a.ts']), ['src/a.ts', 'other.ts'])).toBeUndefined();
    expect(missingChange(step('implementation', [], ['src/new/']), ['src/new/file.ts'])).toBeUndefined();
    expect(missingChange(step('implementation', ['src']), ['srcx/a.ts'])).toBe(NoChangeReason.plannedUntouched);
  });

  it('a code step that plans no files is satisfied by any change', () => {
    expect(missingChange(step('implementation'), ['anything.ts'])).toBeUndefined();
  });

  it('report steps are never judged by their diff', () => {
    expect(missingChange(step('analysis', ['src/a.ts']), [])).toBeUndefined();
    expect(missingChange(step('validation'), [])).toBeUndefined();
  });
});
