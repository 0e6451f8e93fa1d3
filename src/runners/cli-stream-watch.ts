import type { StopReason } from './cli-process.js';
import type { StreamParser } from './cli-stream.js';
import type { LoopGuard } from './loop-guard.js';
import { isOutside } from './worktree-paths.js';

/**
 * Reading a CLI's stdout while it runs: each line goes to the transcript, each JSON event to the
 * dialect's parser, and the call is stopped at once (not after the fact) when the agent writes
 * outside the worktree or the loop guard sees it making no progress.
 */

interface StreamWatchOptions {
  readonly parser: StreamParser;
  readonly guard: LoopGuard;
  /** The worktree's paths (as given and real); a write outside all of them stops the call. */
  readonly roots: readonly string[];
  /** Gets every line, JSON or not. */
  readonly onLine?: ((line: string) => void) | undefined;
  /** Gets every JSON event. */
  readonly onEvent: (event: unknown) => void;
}

interface StreamWatch {
  /** Hand to runCliProcess as its `onLine`. */
  readonly onLine: (line: string, stop: (reason: StopReason, detail: string) => void) => void;
  /** JSON events seen so far. */
  readonly events: number;
  /** Tool calls the model made so far: with the answer text, the sign that the model really answered. */
  readonly toolCalls: number;
  /** The first line that was not JSON, if any. */
  readonly nonJson: string | undefined;
}

export function watchStream(options: StreamWatchOptions): StreamWatch {
  const { parser, guard, roots } = options;
  let nonJson: string | undefined;
  let events = 0;
  let toolCalls = 0;
  return {
    get events() {
      return events;
    },
    get toolCalls() {
      return toolCalls;
    },
    get nonJson() {
      return nonJson;
    },
    onLine(line, stop) {
      options.onLine?.(line);
      let event: unknown;
      try {
        event = JSON.parse(line) as unknown;
      } catch {
        nonJson ??= line;
        return;
      }
      events++;
      options.onEvent(event);
      for (const sig of parser.feed(event)) {
        if (sig.kind === 'tool_call') {
          toolCalls++;
          const escaping = sig.writes.filter((w) => roots.every((root) => isOutside(root, w)));
          if (escaping.length > 0) {
            stop('permission_denied', `${sig.name} tried to write outside the worktree: ${escaping.join(', ')}`);
          }
          const why = guard.call(sig.id, sig.name, sig.input);
          if (why !== undefined) stop('no_progress', why);
        } else {
          const why = guard.result(sig.id, sig.output, sig.failed);
          if (why !== undefined) stop('no_progress', why);
        }
      }
    },
  };
}
