/**
 * The few error classes tandem throws. Like Temporal's ApplicationFailure, each one says whether
 * retrying can help and keeps the underlying `cause`. Everything that can fail during a task run is
 * turned into a value (an event or a result) before it reaches the state machine; these classes are
 * for the edges: loading input, talking to git, the store and the bus.
 */

/** One problem found in user input: a file, and where in it, and what is wrong. */
export interface InputIssue {
  readonly file: string;
  readonly line?: number | undefined;
  readonly column?: number | undefined;
  /** Dotted path of the field, e.g. `tasks[1].risk`. */
  readonly field?: string | undefined;
  readonly message: string;
}

export function formatIssue(issue: InputIssue): string {
  const where = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}${issue.column === undefined ? '' : `:${issue.column}`}`;
  return issue.field ? `${where}: ${issue.field}: ${issue.message}` : `${where}: ${issue.message}`;
}

export class TandemError extends Error {
  readonly retryable: boolean;
  constructor(message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retryable = options.retryable ?? false;
  }
}

/** Bad task files, config, scripts or flags. The CLI exits with code 2 and prints every issue. */
export class InputError extends TandemError {
  readonly issues: readonly InputIssue[];
  constructor(issues: readonly InputIssue[], options: { cause?: unknown } = {}) {
    super(issues.map(formatIssue).join('\n'), { ...options, retryable: false });
    this.issues = issues;
  }
}

/** A git, filesystem or process operation that failed. Retryable when the environment may recover. */
export class WorkspaceError extends TandemError {}

/** The store or bus refused or lost an operation (revision conflict, connection closed). */
export class StoreError extends TandemError {
  readonly code: 'conflict' | 'not_found' | 'unavailable' | 'corrupt';
  constructor(code: StoreError['code'], message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, retryable: code === 'unavailable' || code === 'conflict' });
    this.code = code;
  }
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
