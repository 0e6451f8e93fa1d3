/**
 * CLI versions the e2e suite (test/agents/runners/*.e2e.test.ts) passed against. A CLI's flags, JSON
 * events and exit codes change between releases, so an adapter refuses a version that is not listed
 * unless the user allows it: moving a pin means passing that suite again.
 */
export const testedVersions = {
  'claude-code': ['2.1.330'],
  'gemini-cli': ['0.61.0'],
  'codex-cli': ['0.169.0'],
} as const satisfies Record<string, readonly string[]>;

export type CliRunnerName = keyof typeof testedVersions;

/** The first `major.minor.patch` in a `--version` output such as `2.1.330 (Claude Code)` or `codex-cli 0.169.0`. */
export function parseVersion(output: string): string | undefined {
  return /(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)/.exec(output)?.[1];
}

export function isTestedVersion(runner: CliRunnerName, version: string): boolean {
  return (testedVersions[runner] as readonly string[]).includes(version);
}
