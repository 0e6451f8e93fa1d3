import { describe, expect, it } from 'vitest';
import { LoopGuard, stableJson } from '../../src/runners/loop-guard.js';

describe('loop guard', () => {
  it('stops the same call with the same result at the repeat limit', () => {
    const guard = new LoopGuard(100, 3);
    const verdicts: (string | undefined)[] = [];
    for (let i = 0; i < 3; i++) {
      expect(guard.call(`c${i}`, 'Read', { file_path: 'a', limit: 1 })).toBeUndefined();
      verdicts.push(guard.result(`c${i}`, 'same', false));
    }
    expect(verdicts).toEqual([undefined, undefined, 'the same tool call (Read {"file_path":"a","limit":1}) returned the same result 3 times']);
  });

  it('counts a different result, or a failure, as a different outcome', () => {
    const guard = new LoopGuard(100, 2);
    guard.call('a', 'Bash', 'npm test');
    expect(guard.result('a', '1 failed', false)).toBeUndefined();
    guard.call('b', 'Bash', 'npm test');
    expect(guard.result('b', '0 failed', false)).toBeUndefined();
    guard.call('c', 'Bash', 'npm test');
    expect(guard.result('c', '0 failed', true)).toBeUndefined();
  });

  it('stops past the turn limit', () => {
    const guard = new LoopGuard(2, 10);
    expect(guard.call('1', 'Read', 1)).toBeUndefined();
    expect(guard.call('2', 'Read', 2)).toBeUndefined();
    expect(guard.call('3', 'Read', 3)).toBe('more than 2 tool calls (the turn limit)');
    expect(guard.toolCalls).toBe(3);
  });

  it('sees key order as irrelevant', () => {
    expect(stableJson({ b: 1, a: [{ d: 2, c: 3 }] })).toBe(stableJson({ a: [{ c: 3, d: 2 }], b: 1 }));
  });
});
