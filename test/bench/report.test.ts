import { describe, expect, it } from 'vitest';
import { phaseBreakdown } from '../../bench/phases.js';
import { countVerdicts, figureJson, figuresTable, formatBytes, formatTable, formatTarget, formatValue, verdictOf, type Figure } from '../../bench/report.js';
import { idealThroughput, median, percentile, summarize } from '../../bench/stats.js';

describe('percentile', () => {
  it('interpolates linearly between the nearest ranks', () => {
    const sorted = [1, 2, 3, 4];
    expect(percentile(sorted, 0)).toBe(1);
    expect(percentile(sorted, 50)).toBe(2.5);
    expect(percentile(sorted, 100)).toBe(4);
    expect(percentile(sorted, 25)).toBe(1.75);
  });

  it('gives p99 of 1..100 just below the maximum', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 99)).toBeCloseTo(99.01, 10);
    expect(percentile(sorted, 50)).toBe(50.5);
  });

  it('returns the only value of a one-element sample for every p', () => {
    expect(percentile([7], 0)).toBe(7);
    expect(percentile([7], 99)).toBe(7);
  });

  it('refuses an empty sample and a p outside 0..100', () => {
    expect(() => percentile([], 50)).toThrow('percentile of an empty sample');
    expect(() => percentile([1], 101)).toThrow('percentile must be within 0..100, got 101');
    expect(() => percentile([1], Number.NaN)).toThrow('percentile must be within 0..100, got NaN');
  });
});

describe('summarize', () => {
  it('sorts a copy and reports n, min, mean, p50, p90, p99 and max', () => {
    const samples = [5, 1, 4, 2, 3];
    expect(summarize(samples)).toEqual({ n: 5, min: 1, mean: 3, p50: 3, p90: 4.6, p99: 4.96, max: 5 });
    expect(samples).toEqual([5, 1, 4, 2, 3]);
  });

  it('refuses an empty sample', () => {
    expect(() => summarize([])).toThrow('summary of an empty sample');
  });

  it('median is p50', () => {
    expect(median([10, 30, 20, 40])).toBe(25);
  });
});

describe('idealThroughput', () => {
  it('is C / (calls × latency) tasks per second', () => {
    expect(idealThroughput(1, 11, 50)).toBeCloseTo(1 / 0.55, 12);
    expect(idealThroughput(256, 11, 50)).toBeCloseTo(465.4545454545, 6);
  });
});

describe('verdictOf', () => {
  it('passes an upper bound at or below it and misses above it', () => {
    expect(verdictOf({ value: 1, target: { op: '<=', value: 1 } })).toBe('PASS');
    expect(verdictOf({ value: 1.0001, target: { op: '<=', value: 1 } })).toBe('MISS');
  });

  it('passes a lower bound at or above it and misses below it', () => {
    expect(verdictOf({ value: 0.9, target: { op: '>=', value: 0.9 } })).toBe('PASS');
    expect(verdictOf({ value: 0.89, target: { op: '>=', value: 0.9 } })).toBe('MISS');
  });

  it('gives no verdict without a target', () => {
    expect(verdictOf({ value: 3 })).toBe('-');
  });
});

describe('formatting values', () => {
  it('prints milliseconds with three decimals below 10 and one above', () => {
    expect(formatValue(0.4567, 'ms')).toBe('0.457 ms');
    expect(formatValue(12.345, 'ms')).toBe('12.3 ms');
  });

  it('prints ratios, rates and counts', () => {
    expect(formatValue(0.91234, 'ratio')).toBe('0.912');
    expect(formatValue(465.45, 'tasks/s')).toBe('465.4 tasks/s');
    expect(formatValue(18, 'count')).toBe('18');
    expect(formatValue(17.5, 'count')).toBe('17.50');
  });

  it('prints bytes in decimal units, negative deltas included', () => {
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1000)).toBe('1.0 KB');
    expect(formatBytes(23_456)).toBe('23.5 KB');
    expect(formatBytes(2_500_000)).toBe('2.50 MB');
    expect(formatBytes(-512.4)).toBe('-512 B');
    expect(formatValue(30_000, 'B')).toBe('30.0 KB');
  });

  it('prints targets with ≤ and ≥, and nothing without one', () => {
    expect(formatTarget({ op: '<=', value: 1 }, 'ms')).toBe('≤ 1.000 ms');
    expect(formatTarget({ op: '>=', value: 0.9 }, 'ratio')).toBe('≥ 0.900');
    expect(formatTarget(undefined, 'ms')).toBe('');
  });
});

describe('formatTable', () => {
  it('pads columns to the widest cell, right-aligns where asked and trims line ends', () => {
    const table = formatTable(
      ['name', 'value'],
      [
        ['a', '1'],
        ['longer', '100'],
      ],
      ['left', 'right'],
    );
    expect(table).toBe(['name    value', '------  -----', 'a           1', 'longer    100'].join('\n'));
  });

  it('treats missing cells as empty', () => {
    expect(formatTable(['a', 'b'], [['x']])).toBe(['a  b', '-  -', 'x'].join('\n'));
  });
});

const figures: Figure[] = [
  { mode: 'memory', metric: 'overhead.p50', label: 'overhead p50', value: 0.5, unit: 'ms', target: { op: '<=', value: 1 } },
  { mode: 'file', metric: 'throughput.c256.ratio', label: 'throughput at 256', value: 0.5, unit: 'ratio', target: { op: '>=', value: 0.9 }, note: 'slow disk' },
  { mode: 'file', metric: 'store.puts_per_task', label: 'writes', value: 18, unit: 'count' },
];

describe('figuresTable', () => {
  it('prints each figure next to its target and verdict', () => {
    expect(figuresTable(figures).split('\n')).toEqual([
      'mode    figure                value  target      verdict  note',
      '------  -----------------  --------  ----------  -------  ---------',
      'memory  overhead p50       0.500 ms  ≤ 1.000 ms  PASS',
      'file    throughput at 256     0.500  ≥ 0.900     MISS     slow disk',
      'file    writes                   18              -',
    ]);
  });

  it('counts passes and misses, ignoring figures without a target', () => {
    expect(countVerdicts(figures)).toEqual({ pass: 1, miss: 1 });
  });
});

describe('figureJson', () => {
  it('carries the verdict and uses null for an absent target or note', () => {
    expect(figureJson(figures[2] as Figure)).toEqual({
      mode: 'file',
      metric: 'store.puts_per_task',
      label: 'writes',
      value: 18,
      unit: 'count',
      target: null,
      verdict: '-',
      note: null,
    });
    expect(figureJson(figures[1] as Figure).verdict).toBe('MISS');
  });
});

describe('phaseBreakdown', () => {
  it('takes the median gap of each label pair across tasks and scales it by occurrences per task', () => {
    const marks = new Map([
      [
        'T1',
        [
          { label: 'a', at: 0 },
          { label: 'a.end', at: 1 },
          { label: 'b', at: 4 },
          { label: 'b.end', at: 5 },
          { label: 'b', at: 6 },
        ],
      ],
      [
        'T2',
        [
          { label: 'a', at: 10 },
          { label: 'a.end', at: 13 },
          { label: 'b', at: 15 },
          { label: 'b.end', at: 16 },
          { label: 'b', at: 18 },
        ],
      ],
    ]);
    expect(phaseBreakdown(marks)).toEqual([
      { label: 'a→a.end', perTask: 1, medianMs: 2, perTaskMs: 2 },
      { label: 'a.end→b', perTask: 1, medianMs: 2.5, perTaskMs: 2.5 },
      { label: 'b→b.end', perTask: 1, medianMs: 1, perTaskMs: 1 },
      { label: 'b.end→b', perTask: 1, medianMs: 1.5, perTaskMs: 1.5 },
    ]);
  });

  it('is empty without marks', () => {
    expect(phaseBreakdown(new Map())).toEqual([]);
  });
});
