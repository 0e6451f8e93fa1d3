import type { ExecutionResult, RunRequest } from '../model/execution.js';

/**
 * The port every model backend implements (scripted, claude-code, gemini-cli, codex-cli, ollama).
 * It must never throw for a model-side failure: failures are results with `success: false`.
 * When `signal` aborts it must stop its work (and kill its processes) and resolve with `cancelled`.
 */
export interface AgentRunner {
  readonly name: string;
  /**
   * No model behind it (the scripted runner): its answers teach nothing about the model they are
   * labelled with, so routing history skips them.
   */
  readonly simulated?: boolean | undefined;
  run(request: RunRequest, options: { signal: AbortSignal }): Promise<ExecutionResult>;
}
