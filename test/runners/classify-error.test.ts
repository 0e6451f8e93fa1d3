import { describe, expect, it } from 'vitest';
import { httpStatusFromExitCode, kindOfHttpStatus, kindOfMessage, retryAfterFromText } from '../../src/runners/classify-error.js';

describe('error classification', () => {
  it.each([
    [429, 'rate_limit'],
    [401, 'auth'],
    [403, 'auth'],
    [503, 'overloaded'],
    [529, 'overloaded'],
    [504, 'timeout'],
    [500, 'crashed'],
    [400, 'crashed'],
  ] as const)('maps HTTP %i to %s', (status, kind) => {
    expect(kindOfHttpStatus(status)).toBe(kind);
  });

  it('reads kinds from messages without a status', () => {
    expect(kindOfMessage('exceeded retry limit, last status: 429 Too Many Requests')).toBe('rate_limit');
    expect(kindOfMessage('Invalid API key · Please run /login')).toBe('auth');
    expect(kindOfMessage('Selected model is at capacity. Please try a different model.')).toBe('overloaded');
    expect(kindOfMessage('Request timed out.')).toBe('timeout');
    expect(kindOfMessage('something else')).toBeUndefined();
  });

  it('reads retry delays and reset times', () => {
    expect(retryAfterFromText('Suggested retry after 7s.', 0)).toBe(7_000);
    expect(retryAfterFromText('Please retry in 2.5s', 0)).toBe(2_500);
    expect(retryAfterFromText('try again in 3 minutes', 0)).toBe(180_000);
    expect(retryAfterFromText('retryDelay: "40s"', 0)).toBe(40_000);
    expect(retryAfterFromText('Claude AI usage limit reached|1700000060', 1_700_000_000_000)).toBe(60_000);
    expect(retryAfterFromText('no hint here', 0)).toBeUndefined();
  });

  it('recovers the HTTP status Gemini CLI exits with', () => {
    expect(httpStatusFromExitCode(173)).toBe(429);
    expect(httpStatusFromExitCode(244)).toBe(500);
    expect(httpStatusFromExitCode(145)).toBe(401);
    expect(httpStatusFromExitCode(1)).toBeUndefined();
    expect(httpStatusFromExitCode(null)).toBeUndefined();
  });
});
