import type { ClassifiedError } from './classify-error.js';

/** What the adapters watch for while a CLI runs, read from its event stream. */
export type StreamSignal =
  | {
      readonly kind: 'tool_call';
      readonly id: string;
      readonly name: string;
      readonly input: unknown;
      /** Files this call will write, as the CLI reported them (absolute or relative to the cwd). */
      readonly writes: readonly string[];
    }
  | { readonly kind: 'tool_result'; readonly id: string; readonly output: string; readonly failed: boolean };

/** How the CLI process ended, for the parser's final verdict. */
export interface ExitInfo {
  readonly exitCode: number | null;
  readonly stderr: string;
  readonly now: number;
}

export interface TokenUsage {
  readonly input: number;
  readonly output: number;
}

/** Everything the stream said about one call. */
export interface StreamOutcome {
  /** The final answer text. */
  readonly text: string;
  /** The CLI's validated structured answer (claude `--json-schema`). */
  readonly structured?: unknown;
  readonly usage?: TokenUsage | undefined;
  /** The CLI's own cost figure. */
  readonly costUsd?: number | undefined;
  /** Set when the CLI reported a failure (or none of its final events arrived). */
  readonly error?: ClassifiedError | undefined;
  /** Whether the stream's final event (result / turn.completed) arrived. */
  readonly completed: boolean;
  /** Writes the CLI refused (tool name and path), from its own permission report. */
  readonly denials: readonly { readonly tool: string; readonly path?: string | undefined }[];
}

/** Turns one CLI's JSON events into signals while it runs and into an outcome at the end. Pure. */
export interface StreamParser {
  feed(event: unknown): readonly StreamSignal[];
  finish(exit: ExitInfo): StreamOutcome;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function asArray(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

export function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function asCount(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.round(value) : 0;
}
