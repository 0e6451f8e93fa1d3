import type { GateConfig } from './gate-options.js';

/**
 * The plan step's `commands` (seed 002 §2.1) as checks of its gate, judged by exit code like any
 * custom check and reported beside the configured ones; they run whatever the change's size.
 */
export function withStepCommands(settings: GateConfig, commands: readonly string[] | undefined): GateConfig {
  if (!commands || commands.length === 0) return settings;
  // The repository's test script is what a configured tests check runs already: not run twice.
  const testsChecked = settings.checks.some((c) => c.kind === 'tests');
  const extra = commands
    .filter((command) => !(testsChecked && TEST_SCRIPT.test(command.trim())))
    .map((command, i) => ({ name: `step-${i + 1}`, kind: 'custom' as const, command, timeout_ms: STEP_COMMAND_TIMEOUT_MS }));
  return { ...settings, checks: [...settings.checks, ...extra] };
}

/** `npm test`, `npm run test --silent`, `yarn test`, `pnpm test`: the repository's own test script. */
const TEST_SCRIPT = /^(npm|yarn|pnpm)( run)? (test|t)( --silent| -s)?$/;

/** A plan step's command gets as long as a configured check does by default. */
const STEP_COMMAND_TIMEOUT_MS = 300_000;
