import { describe, expect, it } from 'vitest';
import { parseTap } from '../../../src/gate/parsers/tap.js';
import { findAll, parseXml } from '../../../src/gate/parsers/xml.js';

describe('parseXml', () => {
  it('reads attributes, entities, CDATA and comments', () => {
    const doc = parseXml('<?xml version="1.0"?><!-- c --><a x="1 &amp; 2" y=\'&#10;\'><b>t&lt;1&gt;<![CDATA[<raw>]]></b><b/></a>');
    const [a] = findAll(doc, 'a');
    expect(a?.attributes).toEqual({ x: '1 & 2', y: '\n' });
    expect(findAll(doc, 'b').map((b) => b.text)).toEqual(['t<1><raw>', '']);
  });

  it('throws on a tag that is never closed or closed wrongly', () => {
    expect(() => parseXml('<a><b></a>')).toThrow('unexpected </a> at offset 6');
    expect(() => parseXml('<a>')).toThrow('<a> is never closed');
  });
});

describe('parseTap', () => {
  it('counts a suite that failed in a hook, and a bail-out, as failures', () => {
    const tap = [
      'TAP version 13',
      '# Subtest: suite',
      '    ok 1 - inner',
      '    1..1',
      'not ok 1 - suite',
      '  ---',
      "  type: 'suite'",
      "  failureType: 'hookFailed'",
      "  error: 'before hook failed'",
      '  ...',
      'Bail out! database down',
    ].join('\n');
    expect(parseTap({ text: tap, stderr: '', root: '/r' })).toEqual({
      ok: true,
      output: {
        tests: [
          { name: 'suite › inner', status: 'passed', rerun: { file: '', name: 'inner', pattern: '^inner$' } },
          { name: 'suite', status: 'failed', message: 'before hook failed', rerun: { file: '', name: 'suite', pattern: '^suite$' } },
          { name: 'Bail out!', status: 'failed', message: 'database down' },
        ],
      },
    });
  });
});
