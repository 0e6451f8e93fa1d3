/**
 * What the fake model does, independent of the wire format. A test picks one scenario; each provider
 * module turns the scenario's decision for the current turn into that API's JSON or SSE.
 */
export type Scenario =
  /** A plain text answer. */
  | { readonly kind: 'text'; readonly text: string }
  /**
   * A structured answer: a `StructuredOutput` tool call where the CLI offers one (claude with
   * `--json-schema`), otherwise the JSON as the answer text.
   */
  | { readonly kind: 'json'; readonly value: unknown }
  /**
   * A tool call that writes `content` to `path` (as given: relative to the CLI's cwd, or absolute), then
   * `then` (default `DONE: wrote <path>`), or `FAILED: <tool output>` when the CLI reports the tool failed.
   */
  | { readonly kind: 'write'; readonly path: string; readonly content: string; readonly then?: string }
  /** The same read of `path` on every turn: a model stuck in a loop. */
  | { readonly kind: 'loop'; readonly path: string }
  /** An HTTP error on every request. */
  | { readonly kind: 'error'; readonly status: number; readonly retryAfterSeconds?: number; readonly message?: string }
  /** Never sends response headers. */
  | { readonly kind: 'hang' }
  /** Sends the headers and the first event, then goes silent. */
  | { readonly kind: 'stall' };

/** The conversation as seen in one request, reduced to what the scenarios need. */
export interface TurnState {
  /** Tool results the CLI has sent back so far. */
  readonly toolResults: number;
  /** Text of the last tool result, if any. */
  readonly lastToolOutput?: string;
  /** Whether the CLI marked the last tool result as failed or denied. */
  readonly lastToolFailed: boolean;
  /** Names of the tools the CLI offered in this request. */
  readonly tools: readonly string[];
}

/** What the model should do on this turn. */
export type ToolIntent =
  | { readonly kind: 'write'; readonly path: string; readonly content: string }
  | { readonly kind: 'read'; readonly path: string }
  | { readonly kind: 'structured'; readonly value: unknown };

export type Decision =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'tool'; readonly intent: ToolIntent }
  | { readonly kind: 'error'; readonly status: number; readonly retryAfterSeconds?: number; readonly message?: string }
  | { readonly kind: 'hang' }
  | { readonly kind: 'stall' };

/** Name of the tool claude adds for `--json-schema`. */
export const structuredOutputTool = 'StructuredOutput';

export function decide(scenario: Scenario, turn: TurnState): Decision {
  switch (scenario.kind) {
    case 'text':
      return { kind: 'text', text: scenario.text };
    case 'json':
      if (turn.tools.includes(structuredOutputTool) && turn.toolResults === 0) {
        return { kind: 'tool', intent: { kind: 'structured', value: scenario.value } };
      }
      return { kind: 'text', text: JSON.stringify(scenario.value) };
    case 'write':
      if (turn.toolResults === 0) return { kind: 'tool', intent: { kind: 'write', path: scenario.path, content: scenario.content } };
      if (turn.lastToolFailed) return { kind: 'text', text: `FAILED: ${turn.lastToolOutput ?? ''}` };
      return { kind: 'text', text: scenario.then ?? `DONE: wrote ${scenario.path}` };
    case 'loop':
      return { kind: 'tool', intent: { kind: 'read', path: scenario.path } };
    case 'error':
      return scenario;
    case 'hang':
    case 'stall':
      return scenario;
  }
}
