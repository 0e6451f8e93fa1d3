import { describe, expect, it } from 'vitest';
import { costFromTokens, priceOf } from '../../src/runners/pricing.js';
import { isOutside } from '../../src/runners/worktree-paths.js';
import { isTestedVersion, parseVersion } from '../../src/runners/versions.js';

describe('prices, paths and versions', () => {
  it('prices by the longest matching model prefix', () => {
    expect(priceOf('gemini-2.5-flash-lite')).toEqual({ inputPerMTok: 0.1, outputPerMTok: 0.4 });
    expect(priceOf('gemini-2.5-flash-preview-09-2025')).toEqual({ inputPerMTok: 0.3, outputPerMTok: 2.5 });
    expect(priceOf('gpt-5.5')).toBeUndefined();
    expect(costFromTokens('gpt-5-codex', 1_000_000, 100_000)).toBeCloseTo(2.25, 10);
    expect(costFromTokens('my-model', 10, 10, { 'my-model': { inputPerMTok: 1, outputPerMTok: 1 } })).toBeCloseTo(0.00002, 12);
  });

  it('tells paths outside the worktree', () => {
    expect(isOutside('/w/tree', 'src/a.ts')).toBe(false);
    expect(isOutside('/w/tree', '/w/tree/src/a.ts')).toBe(false);
    expect(isOutside('/w/tree', '../other/a.ts')).toBe(true);
    expect(isOutside('/w/tree', '/w/tree-outside.txt')).toBe(true);
    expect(isOutside('/w/tree', '/etc/passwd')).toBe(true);
  });

  it('reads versions from --version outputs and knows the pins', () => {
    expect(parseVersion('2.1.330 (Claude Code)')).toBe('2.1.330');
    expect(parseVersion('codex-cli 0.169.0')).toBe('0.169.0');
    expect(parseVersion('no version')).toBeUndefined();
    expect(isTestedVersion('gemini-cli', '0.61.0')).toBe(true);
    expect(isTestedVersion('gemini-cli', '0.62.0')).toBe(false);
  });
});
