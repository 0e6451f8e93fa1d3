import type { CheckRun } from './run-check.js';
import type { GateCheckConfig } from '../gate/gate-options.js';

/** A check that could not do its work on this machine: no implementer can fix it by editing code. */
export interface EnvironmentProblem {
  /** What went wrong, as the tool said it. */
  readonly error: string;
  /** What a person does about it. */
  readonly fix: string;
}

interface Signature {
  readonly pattern: RegExp;
  readonly problem: (match: RegExpExecArray, check: GateCheckConfig) => EnvironmentProblem;
}

const SIGNATURES: readonly Signature[] = [
  {
    pattern: /npx canceled due to missing packages[^\n]*|npm (?:ERR!|error) could not determine executable to run[^\n]*/,
    problem: (m) => ({
      error: m[0].trim(),
      fix: "the repository's node packages are not installed where the check runs: run `npm ci` (or your package manager's install) in the repository, so tandem can link its node_modules into task worktrees",
    }),
  },
  {
    pattern: /^(.*?): No module named ([\w.]+)/m,
    problem: (m) => ({
      error: m[0].trim(),
      fix: `the Python interpreter \`${(m[1] ?? 'python').trim()}\` has no module ${m[2] ?? ''}: install it for that interpreter (e.g. \`${(m[1] ?? 'python').trim()} -m pip install ${(m[2] ?? '').split('.')[0] ?? ''}\`) or point the check in .tandem/quality.yaml at the interpreter that has it (\`tandem init --force\` picks one)`,
    }),
  },
  {
    pattern: /No module named ([\w.]+)/,
    problem: (m) => ({
      error: m[0].trim(),
      fix: `install the Python module ${m[1] ?? ''} for the interpreter the check uses, or point the check at the interpreter that has it (\`tandem init --force\` picks one)`,
    }),
  },
  {
    pattern: /^(?:.*?: )?(?:\d+: )?([\w./-]+): (?:command )?not found\s*$/m,
    problem: (m) => ({
      error: m[0].trim(),
      fix: `install \`${m[1] ?? 'the tool'}\` or put it on PATH for tandem, or change the check's command in .tandem/quality.yaml`,
    }),
  },
  {
    pattern: /^(?:.*?)(?:spawn|exec) ([\w./-]+) ENOENT/m,
    problem: (m) => ({ error: m[0].trim(), fix: `install \`${m[1] ?? 'the tool'}\` or put it on PATH for tandem` }),
  },
];

/**
 * Whether a failed check failed because its tools are missing rather than because of the change:
 * the shell's exit 127 (command not found) or a tool's own words for it (`npx canceled due to
 * missing packages`, `No module named X`, `X: not found`). Only a run that failed is asked.
 */
export function environmentProblem(check: GateCheckConfig, run: CheckRun): EnvironmentProblem | undefined {
  if (run.exitCode === 0 || run.timedOut || run.cancelled) return undefined;
  const text = run.output;
  for (const signature of SIGNATURES) {
    const match = signature.pattern.exec(text);
    if (match !== null) return signature.problem(match, check);
  }
  if (run.exitCode === 127) {
    const last = text.trim().split('\n').pop() ?? '';
    return {
      error: `exit 127 (command not found)${last === '' ? '' : `: ${last.trim()}`}`,
      fix: "install the check's tool or put it on PATH for tandem, or change the command in .tandem/quality.yaml",
    };
  }
  return undefined;
}

/** The same failure on the base commit: the change did not cause it, the environment or the base did. */
export function sameFailureAtBase(baseCommit: string, step: CheckRun, base: CheckRun): EnvironmentProblem | undefined {
  if (step.exitCode === 0 || step.exitCode === null || base.exitCode !== step.exitCode) return undefined;
  const last = (run: CheckRun): string => run.output.trim().split('\n').pop()?.trim() ?? '';
  return {
    error: `exit ${step.exitCode}, the same as on the base commit ${baseCommit.slice(0, 12)}${last(step) === '' ? '' : `: ${last(step)}`}`,
    fix: 'the check fails on the base commit as well, so the change did not cause it: repair the check (its command or tools in .tandem/quality.yaml) or the base, then retry the step',
  };
}
