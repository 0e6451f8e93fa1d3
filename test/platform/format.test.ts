import { describe, expect, it } from 'vitest';
import { formatCost, formatDuration, formatUsd } from '../../src/platform/format.js';

describe('formatting for people', () => {
  it('writes durations from milliseconds to hours', () => {
    expect([0, 999, 1_000, 59_949, 60_000, 3_599_000, 3_600_000, 7_380_000].map(formatDuration)).toEqual([
      '0ms',
      '999ms',
      '1.0s',
      '59.9s',
      '1m00s',
      '59m59s',
      '1h00m',
      '2h03m',
    ]);
  });

  it('writes money with cents, and an amount under a cent with four decimals so it does not read as nothing', () => {
    expect([0, 0.004, 0.01, 0.42, 12.345].map(formatUsd)).toEqual(['$0.00', '$0.0040', '$0.01', '$0.42', '$12.35']);
  });

  it('says a cost is estimated only when some of it is', () => {
    expect(formatCost(0.42, 0)).toBe('$0.42');
    expect(formatCost(0.42, undefined)).toBe('$0.42');
    expect(formatCost(0.42, 0.42)).toBe('~$0.42 (estimated)');
    expect(formatCost(0.5, 0.1)).toBe('$0.50 (~$0.10 estimated)');
  });
});
