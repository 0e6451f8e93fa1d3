import { describe, expect, it } from 'vitest';
import { extractJson, parseStructured } from '../../src/roles/parse-output.js';
import { PlanReviewSchema } from '../../src/model/role-outputs.js';

describe('extractJson', () => {
  it('takes plain JSON, a fenced block, or the outermost object in prose', () => {
    expect(extractJson('{"a":1}')).toEqual({ ok: true, value: { a: 1 } });
    expect(extractJson('Here you go:\n```json\n{"a":2}\n```\nDone.')).toEqual({ ok: true, value: { a: 2 } });
    expect(extractJson('The answer is {"a":{"b":3}} as requested')).toEqual({ ok: true, value: { a: { b: 3 } } });
  });

  it('says what it saw when there is no JSON', () => {
    const result = extractJson('Sure! Here is the plan: first we read the code.');
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.error).toMatch(/^the answer is not valid JSON \(.+\); it began: "Sure! Here is the plan/);
  });
});

describe('parseStructured', () => {
  it('names the failing field paths', () => {
    const result = parseStructured('{"status":"fine","review":{"concerns":"none"}}', PlanReviewSchema);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.error).toMatch(/^the JSON does not match the required schema: status: .+; review\.concerns: /);
  });

  it('fills defaults of a valid answer', () => {
    expect(parseStructured('{"status":"approved"}', PlanReviewSchema)).toEqual({
      ok: true,
      value: { status: 'approved', review: { missing_steps: [], concerns: [], suggestions: [] } },
    });
  });
});
