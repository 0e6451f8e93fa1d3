import { describe, expect, it } from 'vitest';
import { fileMentions, groundingProblems, keyTerms, stem } from '../../src/mediator/mediator-grounding.js';

const task = (over: Partial<Parameters<typeof groundingProblems>[1]> = {}) => ({
  title: 'Timeouts',
  goal: 'Handle connection timeouts in db.py and add unit tests',
  success_criteria: ['a test covers the timeout path'],
  target_files: ['db.py'],
  context_files: [],
  ...over,
});

describe('grounding rules', () => {
  it('finds the files a request names, not abbreviations or URLs', () => {
    expect(fileMentions('fix db.py, src/app/config.ts and "tests/test_db.py" (e.g. the pool); see https://x.io/a.html.')).toEqual([
      'db.py',
      'src/app/config.ts',
      'tests/test_db.py',
    ]);
    expect(fileMentions('make it faster')).toEqual([]);
  });

  it('stems the usual suffixes so word forms meet', () => {
    expect(['handling', 'handle', 'handled'].map(stem)).toEqual(['handl', 'handl', 'handl']);
    expect(['tests', 'test', 'retries', 'retry'].map(stem)).toEqual(['test', 'test', 'retry', 'retry']);
  });

  it('takes content words only, once each', () => {
    expect(keyTerms('Please fix the timeout handling in db.py and add tests for the timeouts').map((t) => t.word)).toEqual(['timeout', 'handling', 'tests']);
  });

  it('accepts a task that keeps the files and most key terms, in other words', () => {
    expect(groundingProblems('fix the timeout handling in db.py and add tests', task())).toEqual([]);
  });

  it('accepts a file kept under its full path', () => {
    expect(groundingProblems('fix the timeout handling in db.py', task({ goal: 'Retry on timeout', target_files: ['app/db.py'] }))).toEqual([]);
  });

  it('flags a dropped file', () => {
    expect(groundingProblems('fix the timeout handling in db.py', task({ goal: 'Handle timeouts gracefully', target_files: ['pool.py'] }))).toEqual([
      {
        kind: 'dropped_file',
        field: 'target_files',
        message: 'the request names `db.py` but the task does not (neither in target_files, context_files nor the goal)',
      },
    ]);
  });

  it('flags a goal that keeps fewer than half of the key terms', () => {
    const problems = groundingProblems(
      'speed up the slow invoice export and cache currency rates',
      task({ title: 'Invoices', goal: 'Refactor the invoice module', target_files: [], success_criteria: ['tests pass'] }),
    );
    expect(problems).toEqual([
      {
        kind: 'ungrounded',
        field: 'goal',
        message: 'the goal is not the request: it keeps 1 of its 7 key terms (missing: speed, slow, export, cache, currency, rates)',
      },
    ]);
  });

  it('passes at exactly half of the key terms', () => {
    expect(
      groundingProblems(
        'rename the export button label',
        task({ title: 'Export', goal: 'Update the button on the export page', target_files: [], success_criteria: [] }),
      ),
    ).toEqual([]);
  });
});
