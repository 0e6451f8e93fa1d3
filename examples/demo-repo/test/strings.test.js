import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { capitalize, countWords, truncate } from '../src/strings.js';

describe('capitalize', () => {
  it('upper-cases the first character only', () => {
    assert.equal(capitalize('hello world'), 'Hello world');
  });
  it('leaves the empty string alone', () => {
    assert.equal(capitalize(''), '');
  });
});

describe('truncate', () => {
  it('keeps text that fits', () => {
    assert.equal(truncate('short', 5), 'short');
  });
  it('cuts long text and ends it with an ellipsis within the limit', () => {
    assert.equal(truncate('a long sentence', 6), 'a lon…');
  });
  it('rejects a limit below one', () => {
    assert.throws(() => truncate('text', 0), RangeError);
  });
});

describe('countWords', () => {
  it('counts words separated by any whitespace', () => {
    assert.equal(countWords('  one two\tthree\nfour '), 4);
  });
  it('counts zero words in blank text', () => {
    assert.equal(countWords('   '), 0);
  });
});
