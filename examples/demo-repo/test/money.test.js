import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatCents } from '../src/money.js';

describe('formatCents', () => {
  it('formats dollars and cents', () => {
    assert.equal(formatCents(1999), '$19.99');
  });
  it('pads cents below ten', () => {
    assert.equal(formatCents(5), '$0.05');
  });
  it('formats zero', () => {
    assert.equal(formatCents(0), '$0.00');
  });
  it('puts the minus sign before the dollar sign', () => {
    assert.equal(formatCents(-250), '-$2.50');
  });
  it('rejects amounts that are not whole cents', () => {
    assert.throws(() => formatCents(1.5), TypeError);
  });
});
