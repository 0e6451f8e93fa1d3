import { describe, expect, it } from 'vitest';
import { OutputTail } from '../../../src/platform/process/output-tail.js';

describe('OutputTail', () => {
  it('keeps everything below the limit', () => {
    const tail = new OutputTail(10);
    tail.push(Buffer.from('abc'));
    tail.push(Buffer.from('def'));
    expect(tail.toString()).toBe('abcdef');
    expect(tail.droppedBytes).toBe(0);
  });

  it('keeps the last bytes across chunk boundaries', () => {
    const tail = new OutputTail(5);
    tail.push(Buffer.from('abc'));
    tail.push(Buffer.from('def'));
    tail.push(Buffer.from('gh'));
    expect(tail.toString()).toBe('defgh');
    expect(tail.droppedBytes).toBe(3);
  });

  it('keeps the end of a single chunk larger than the limit', () => {
    const tail = new OutputTail(4);
    tail.push(Buffer.from('ab'));
    tail.push(Buffer.from('0123456789'));
    expect(tail.toString()).toBe('6789');
    expect(tail.droppedBytes).toBe(8);
  });

  it('drops a multi-byte character cut in half instead of showing garbage', () => {
    const tail = new OutputTail(4);
    tail.push(Buffer.from('xé€')); // é is 2 bytes, € is 3: the cut falls inside é
    expect(tail.toString()).toBe('€');
  });

  it('keeps a multi-byte character split across chunks intact', () => {
    const tail = new OutputTail(100);
    const euro = Buffer.from('€');
    tail.push(euro.subarray(0, 1));
    tail.push(euro.subarray(1));
    expect(tail.toString()).toBe('€');
  });

  it('keeps nothing with a zero limit', () => {
    const tail = new OutputTail(0);
    tail.push(Buffer.from('abc'));
    expect(tail.toString()).toBe('');
    expect(tail.droppedBytes).toBe(3);
  });
});
