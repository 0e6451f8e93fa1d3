import { describe, expect, it } from 'vitest';
import { cleanOutput, excerptHeader, formatExcerpt, tailLines } from '../../src/gate/excerpt.js';
import type { CheckRun } from '../../src/gate/run-check.js';

const run = (fields: Partial<CheckRun>): CheckRun => ({
  command: 'npm test',
  exitCode: 0,
  signalName: null,
  timedOut: false,
  cancelled: false,
  durationMs: 1234,
  stdout: '',
  stderr: '',
  output: '',
  ...fields,
});

describe('excerptHeader', () => {
  it('names the exit code, a timeout with its limit, a cancel and a signal', () => {
    expect(excerptHeader(run({ exitCode: 1 }), 5_000)).toBe('$ npm test → exit 1 after 1.2 s');
    expect(excerptHeader(run({ exitCode: null, signalName: 'SIGTERM', timedOut: true, durationMs: 5_012 }), 5_000)).toBe(
      '$ npm test → timed out after 5.0 s (limit 5.0 s)',
    );
    expect(excerptHeader(run({ exitCode: null, signalName: 'SIGTERM', cancelled: true, durationMs: 300 }), 5_000)).toBe('$ npm test → cancelled after 0.3 s');
    expect(excerptHeader(run({ exitCode: null, signalName: 'SIGSEGV' }), 5_000)).toBe('$ npm test → killed by SIGSEGV after 1.2 s');
  });

  it('keeps the header on one line for a multi-line script', () => {
    expect(excerptHeader(run({ command: 'npm ci\nnpm test\n', exitCode: 2 }), 5_000)).toBe('$ npm ci … → exit 2 after 1.2 s');
  });
});

describe('cleanOutput', () => {
  it('strips colour codes and keeps what a terminal would show after carriage returns', () => {
    expect(cleanOutput('\u001b[31m✗ failed\u001b[0m\r\n 10%\r 50%\r100%\nend')).toBe('✗ failed\n100%\nend');
  });
});

describe('tailLines', () => {
  it('returns the last lines, ignoring trailing blank lines', () => {
    expect(tailLines('a\nb\nc\nd\n\n  \n', 2)).toBe('c\nd');
    expect(tailLines('a\nb', 10)).toBe('a\nb');
    expect(tailLines('a\nb', 0)).toBe('');
  });
});

describe('formatExcerpt', () => {
  it('puts the header above the cleaned tail', () => {
    expect(formatExcerpt(run({ exitCode: 1, output: 'one\n\u001b[1mtwo\u001b[22m\nthree\n' }), 2, 5_000)).toBe('$ npm test → exit 1 after 1.2 s\ntwo\nthree');
    expect(formatExcerpt(run({ exitCode: 1 }), 2, 5_000)).toBe('$ npm test → exit 1 after 1.2 s\n(no output)');
  });
});
