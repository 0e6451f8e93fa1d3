import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SUBJECT_PREFIX, subject, subjectMatches } from '../../src/bus/subjects.js';

describe('subject', () => {
  it('builds the versioned subjects of DESIGN §9', () => {
    expect([
      subject({ kind: 'tasks.submit' }),
      subject({ kind: 'role.run', role: 'code-reviewer' }),
      subject({ kind: 'events', taskId: 'DEMO-1', event: 'task.state' }),
      subject({ kind: 'events.all' }),
      subject({ kind: 'events.task', taskId: 'DEMO-1' }),
      subject({ kind: 'control', taskId: 'DEMO-1' }),
      subject({ kind: 'control.all' }),
    ]).toEqual([
      'tandem.v1.tasks.submit',
      'tandem.v1.role.code-reviewer.run',
      'tandem.v1.events.DEMO-1.task_state',
      'tandem.v1.events.>',
      'tandem.v1.events.DEMO-1.*',
      'tandem.v1.control.DEMO-1',
      'tandem.v1.control.*',
    ]);
    expect(SUBJECT_PREFIX).toBe('tandem.v1');
  });

  it.each(['', 'a.b', '*', '>', 'a b', 'a/b', 'ü', 'tab\t'])('refuses the token %j', (bad) => {
    expect(() => subject({ kind: 'control', taskId: bad })).toThrow(`invalid subject token for taskId: ${JSON.stringify(bad)}`);
    expect(() => subject({ kind: 'role.run', role: bad })).toThrow(`invalid subject token for role: ${JSON.stringify(bad)}`);
    expect(() => subject({ kind: 'events.task', taskId: bad })).toThrow(TypeError);
  });

  it('refuses an event type that is not a token once its dots become underscores', () => {
    expect(() => subject({ kind: 'events', taskId: 'T1', event: 'task state' })).toThrow('invalid subject token for event: "task state"');
    expect(() => subject({ kind: 'events', taskId: 'T1', event: 'task.*' })).toThrow(TypeError);
  });
});

/** NATS matching as a regular expression, written independently of subjectMatches. */
function referenceMatches(pattern: string, candidate: string): boolean {
  const parts = pattern.split('.').map((token) => {
    if (token === '*') return '[^.]+';
    if (token === '>') return '[^.]+(?:\\.[^.]+)*';
    return token.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  });
  return new RegExp(`^${parts.join('\\.')}$`).test(candidate);
}

const literal = fc.constantFrom('a', 'b', 'c');
const candidate = fc.array(literal, { minLength: 1, maxLength: 5 }).map((tokens) => tokens.join('.'));
const pattern = fc
  .tuple(fc.array(fc.oneof(literal, fc.constant('*')), { minLength: 1, maxLength: 5 }), fc.boolean())
  .map(([tokens, tail]) => [...tokens, ...(tail ? ['>'] : [])].join('.'));

describe('subjectMatches', () => {
  it('agrees with a regular-expression reference on generated patterns and subjects', () => {
    fc.assert(
      fc.property(pattern, candidate, (p, c) => subjectMatches(p, c) === referenceMatches(p, c)),
      { numRuns: 2000 },
    );
  });

  it('agrees when the subject is derived from the pattern, so matches are common', () => {
    const matching = pattern.chain((p) =>
      fc
        .tuple(
          ...p
            .split('.')
            .map((token) =>
              token === '*' ? literal : token === '>' ? fc.array(literal, { minLength: 1, maxLength: 3 }).map((t) => t.join('.')) : fc.constant(token),
            ),
        )
        .map((tokens) => [p, tokens.join('.')] as const),
    );
    fc.assert(
      fc.property(matching, ([p, c]) => subjectMatches(p, c) && referenceMatches(p, c)),
      { numRuns: 500 },
    );
  });

  it('handles the edge cases of `>` and `*`', () => {
    expect(subjectMatches('a.>', 'a')).toBe(false);
    expect(subjectMatches('a.>', 'a.b.c')).toBe(true);
    expect(subjectMatches('>', 'a')).toBe(true);
    expect(subjectMatches('a.*', 'a.b.c')).toBe(false);
    expect(subjectMatches('a.*.c', 'a.b.c')).toBe(true);
    expect(subjectMatches('a.b', 'a.b.c')).toBe(false);
    expect(subjectMatches('a.b.c', 'a.b')).toBe(false);
  });
});
