import { describe, expect, it } from 'vitest';
import type { GateCheckConfig } from '../../src/gate/gate-options.js';
import type { CheckEvaluation } from '../../src/gate/evaluate-check.js';
import { judgeCheck, type JudgePolicy } from '../../src/gate/judge-check.js';
import type { ParsedOutput } from '../../src/gate/parsers/parsed-output.js';
import type { CheckRun } from '../../src/gate/run-check.js';

const policy: JudgePolicy = { excerptLines: 60, coverageTolerance: 0, flakyTests: 'fail', allowBreaking: false };
const run = (exitCode: number | null, output = ''): CheckRun => ({
  command: 'tool',
  exitCode,
  signalName: null,
  timedOut: false,
  cancelled: false,
  durationMs: 1234,
  stdout: output,
  stderr: '',
  output,
});
const check = (kind: GateCheckConfig['kind'], parser?: GateCheckConfig['parser']): GateCheckConfig => ({
  name: 'c',
  kind,
  command: 'tool',
  timeout_ms: 1000,
  ...(parser === undefined ? {} : { parser }),
});
const evaluation = (c: GateCheckConfig, r: CheckRun, output?: ParsedOutput): CheckEvaluation => ({ check: c, run: r, output });
const lines = (excerpt: string): string[] => excerpt.split('\n').slice(1);

describe('judgeCheck', () => {
  it('judges a check without a parser by its exit code, naming the regression by its kind', () => {
    expect(judgeCheck({ evaluation: evaluation(check('hooks'), run(0)), policy }).passed).toBe(true);
    const failed = judgeCheck({ evaluation: evaluation(check('hooks'), run(1, 'hook said no\n')), policy });
    expect([failed.passed, failed.regressions, failed.excerpt]).toEqual([
      false,
      [{ type: 'hooks_failed', check: 'c', count: 1, items: ['exit 1'] }],
      '$ tool → exit 1 after 1.2 s\nhook said no',
    ]);
    expect(judgeCheck({ evaluation: evaluation(check('tests'), run(2)), policy }).regressions?.[0]?.type).toBe('tests_failed');
    expect(judgeCheck({ evaluation: evaluation(check('custom'), run(2)), policy }).regressions?.[0]?.type).toBe('check_failed');
  });

  it('fails a non-zero exit that the report does not explain, unless the base exited the same with a real report', () => {
    const tests: ParsedOutput = { tests: [{ name: 't', status: 'passed' }] };
    const unexplained = judgeCheck({ evaluation: evaluation(check('tests', 'tap'), run(1, 'coverage threshold not met'), tests), policy });
    expect([unexplained.passed, lines(unexplained.excerpt)]).toEqual([
      false,
      ['The command exited with 1 although its report shows no failing test or warning. Last lines of the output:', 'coverage threshold not met'],
    ]);
    const sameAsBase = judgeCheck({
      evaluation: evaluation(check('tests', 'tap'), run(1), tests),
      baseline: { key: 'k', exit_code: 1, output: tests },
      policy,
    });
    expect([sameAsBase.passed, lines(sameAsBase.excerpt)]).toEqual([true, ['1 passed, 0 failed, 0 skipped; exit 1, as at the base']]);
    // An empty report with the base's exit code proves nothing: the tool may not have run at all.
    const empty = judgeCheck({
      evaluation: evaluation(check('types', 'tsc'), run(1), { warnings: [] }),
      baseline: { key: 'k', exit_code: 1, output: { warnings: [] } },
      policy,
    });
    expect(empty.passed).toBe(false);
  });

  it('lets a lint check with only the base’s warnings pass although the linter exits 1', () => {
    const warning = { rule: 'r', file: 'a.ts', line: 3, message: 'm', severity: 'error' as const };
    const result = judgeCheck({
      evaluation: evaluation(check('lint', 'eslint-json'), run(1), { warnings: [{ ...warning, line: 9 }] }),
      baseline: { key: 'k', exit_code: 1, output: { warnings: [warning] } },
      policy,
    });
    expect([result.passed, result.metrics, result.baseline]).toEqual([true, { warnings: 1, warnings_new: 0, warnings_fixed: 0 }, { warnings: 1 }]);
  });

  it('keeps the excerpt within the configured number of lines', () => {
    const tests: ParsedOutput = { tests: Array.from({ length: 30 }, (_, i) => ({ name: `t${i}`, status: 'failed' as const, message: 'a\nb' })) };
    const result = judgeCheck({ evaluation: evaluation(check('tests', 'tap'), run(1), tests), policy: { ...policy, excerptLines: 5 } });
    expect(lines(result.excerpt)).toEqual(['30 failing tests:', '✗ t0', '    a', '    b', '… (87 more lines)']);
    expect(result.regressions?.[0]?.count).toBe(30);
  });

  it('reports a timeout as a failed check with the raw output', () => {
    const timedOut = { ...run(null, 'started'), timedOut: true };
    const result = judgeCheck({ evaluation: evaluation(check('tests', 'tap'), timedOut), policy });
    expect([result.passed, result.regressions, result.excerpt]).toEqual([
      false,
      [{ type: 'check_failed', check: 'c', count: 1, items: ['timed out (limit 1000 ms)'] }],
      '$ tool → timed out after 1.2 s (limit 1.0 s)\nstarted',
    ]);
  });
});
