import { describe, expect, it } from 'vitest';
import * as tandem from '../src/index.js';

/** The package's public API: what the README and DESIGN tell a library user to build a runtime from. */
describe('public API', () => {
  it('exports the parts of every port with their real implementations', () => {
    const factories = [
      'createRuntime',
      'loadConfig',
      'loadTaskFiles',
      'resolveTaskRepos',
      'createScriptedRunner',
      'createModelRunners',
      'asAgentRunners',
      'createMemoryBus',
      'createMemoryStore',
      'createFileStore',
      'createNatsBus',
      'openKvStore',
      'connectNats',
      'createCommandGate',
      'createRatchetGate',
      'createGitWorkspace',
      'createRouting',
      'createMetrics',
      'createLogger',
      'createTracing',
    ] as const;
    for (const name of factories) expect(typeof tandem[name], name).toBe('function');
    expect(tandem.modelRunnerNames).toEqual(['claude-code', 'gemini-cli', 'codex-cli', 'ollama']);
  });
});
