import type { ErrorKind } from '../model/execution.js';

/** A failure as read from a CLI's structured output, before it becomes an ExecutionResult. */
export interface ClassifiedError {
  readonly kind: ErrorKind;
  readonly message: string;
  readonly retryAfterMs?: number | undefined;
  readonly httpStatus?: number | undefined;
}

/**
 * What an HTTP status from a model API means for the runtime: 429 pauses the task (rate_limit), 401
 * and 403 need a person to log in again (auth), 503 and 529 are retried after a while (overloaded), and
 * other server errors are retried as crashes. A 4xx the API rejected (400, 404, 413, 422) will not pass
 * on a retry either, but the runtime has no kind for "our request was wrong", so it is a crash whose
 * message says so.
 */
export function kindOfHttpStatus(status: number): ErrorKind {
  if (status === 429) return 'rate_limit';
  if (status === 401 || status === 403) return 'auth';
  if (status === 408 || status === 504) return 'timeout';
  if (status === 503 || status === 529) return 'overloaded';
  return 'crashed';
}

const messagePatterns: readonly (readonly [RegExp, ErrorKind])[] = [
  [/\b429\b|too many requests|rate.?limit|resource has been exhausted|quota|usage limit/i, 'rate_limit'],
  [/\b40[13]\b|unauthori[sz]ed|invalid api key|api key not valid|authentication|oauth token has expired|please run \/login|not logged in|login/i, 'auth'],
  [/\b529\b|\b503\b|overloaded|at capacity|high demand|unavailable/i, 'overloaded'],
  [/timed? ?out|timeout|idle timeout|deadline exceeded/i, 'timeout'],
];

/** Classifies an error message that carries no status code, e.g. Codex's `turn.failed`. */
export function kindOfMessage(message: string): ErrorKind | undefined {
  for (const [pattern, kind] of messagePatterns) if (pattern.test(message)) return kind;
  return undefined;
}

/**
 * A wait the message asks for, in ms: `retry after 30s`, `retryDelay: "7s"`, `Please retry in 2.5s`,
 * `try again in 20 seconds`, or Claude's `usage limit reached|<unix seconds>` reset time.
 */
export function retryAfterFromText(text: string, now: number): number | undefined {
  const seconds = /(?:retry(?:[ -]after|Delay"?:?\s*"?| in)|try again in)\s*:?\s*([\d.]+)\s*(ms|s|sec|seconds?|m|min|minutes?)?/i.exec(text);
  if (seconds?.[1]) {
    const value = Number(seconds[1]);
    const unit = seconds[2]?.toLowerCase() ?? 's';
    if (Number.isFinite(value)) return Math.round(unit === 'ms' ? value : unit.startsWith('m') && unit !== 'ms' ? value * 60_000 : value * 1_000);
  }
  const reset = /limit reached\|(\d{10})\b/i.exec(text);
  if (reset?.[1]) return Math.max(0, Number(reset[1]) * 1_000 - now);
  return undefined;
}

/** Shell exit codes hold 8 bits; Gemini CLI exits with the HTTP status of an API error modulo 256. */
export function httpStatusFromExitCode(code: number | null, known: readonly number[] = [400, 401, 403, 404, 429, 500, 502, 503, 504, 529]): number | undefined {
  if (code === null || code < 128) return undefined;
  return known.find((status) => status % 256 === code);
}
