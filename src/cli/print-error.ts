import { formatIssue, type InputError } from '../platform/errors.js';
import { ExitCode, type CliIO } from './io.js';

/** One line per problem, each naming the file, line and field, then exit code 2. */
export function printInputError(io: CliIO, error: InputError): ExitCode {
  const count = error.issues.length;
  io.stderr.write(`tandem: ${count === 1 ? 'a problem' : `${count} problems`} in the input; nothing was started:\n`);
  for (const issue of error.issues) io.stderr.write(`  ${formatIssue(issue)}\n`);
  return ExitCode.badInput;
}

/**
 * The decisions a person can take on a waiting task: a step can be skipped only once the plan is
 * approved (`review` refuses it before), and a budget stop can also be lifted.
 */
export function reviewHint(taskId: string, kind: string | undefined, stage?: 'plan' | 'step' | 'validate'): string {
  // Only a step can be skipped; a validation is approved (done as it is) or answered with feedback (a fix-up).
  const skip = stage === 'plan' || stage === 'validate' ? '' : ' | --skip-step';
  const budget = kind === 'budget' ? ' | --raise-budget <usd>' : '';
  return `tandem review ${taskId} --approve | --feedback "…"${skip} | --abort${budget}`;
}
