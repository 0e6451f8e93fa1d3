import { describe, expect, it } from 'vitest';
import { renderResult } from '../../src/intake/watch-report.js';
import { summaryFacts, templateSummary } from '../../src/intake/task-summary.js';
import { summaryPrompt } from '../../src/mediator/mediator-prompt.js';
import { TaskRecordSchema } from '../../src/model/task-record.js';

const record = TaskRecordSchema.parse({
  version: 1,
  id: 'A1',
  spec: { id: 'A1', goal: 'Review the cart', type: 'analyze' },
  repo: '/repo',
  base: 'main',
  baseCommit: 'abcdef1234567890',
  state: 'DONE',
  attempt: 1,
  commits: [],
  costUsd: 0,
  createdAt: 0,
  updatedAt: 1_000,
  finishedAt: 1_000,
  findings: [
    {
      stepId: 'S1',
      report: {
        summary: 'Two inputs are not checked',
        findings: [
          { description: 'removeItem keeps an unknown sku silently', file: 'src/cart.js', line: 24, severity: 'low' },
          { description: 'no docs', severity: 'info' },
        ],
        recommendations: ['Validate lines in subtotalCents'],
      },
    },
  ],
});

describe('findings of an analysis task', () => {
  it('fill a Findings section of results/<id>.md, with file:line where they apply', () => {
    const text = renderResult({ record, source: 'a1.task.md', events: [], git: undefined, plan: undefined, now: 2_000 });
    const section = text.slice(text.indexOf('## Findings'), text.indexOf('## Commits'));
    expect(section).toBe(
      [
        '## Findings',
        '',
        '### S1: Two inputs are not checked',
        '- [low] src/cart.js:24: removeItem keeps an unknown sku silently',
        '- [info] no docs',
        '',
        'Recommendations:',
        '- Validate lines in subtotalCents',
        '',
        '',
      ].join('\n'),
    );
  });

  it('reach the summary: the template and the mediator prompt', () => {
    const facts = summaryFacts(record, 2_000);
    expect(templateSummary(facts)).toContain(
      '- Findings: 2\n  - S1: Two inputs are not checked\n  - S1 src/cart.js:24 (low): removeItem keeps an unknown sku silently',
    );
    expect(summaryPrompt(facts)).toContain('- S1 recommends: Validate lines in subtotalCents');
  });
});
