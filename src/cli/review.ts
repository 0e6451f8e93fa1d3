import { InvalidArgumentError } from 'commander';
import { InputError } from '../platform/errors.js';
import type { ReviewDecision } from '../model/task-events.js';
import { configFrom, observeOptions, withNatsOption, withRunOptions, type CommonFlags, type ObserveFlags } from './common-options.js';
import { decideOverNats } from './nats-commands.js';
import { executeTasks } from './execute.js';
import type { RegisterCommand } from './io.js';
import { printInputError } from './print-error.js';
import { prepare, runnerBanner } from './run.js';
import { listTasks } from './status.js';

interface ReviewFlags extends CommonFlags, ObserveFlags {
  readonly approve?: boolean;
  readonly feedback?: string;
  readonly skipStep?: boolean;
  readonly abort?: boolean;
  readonly raiseBudget?: number;
  readonly json?: boolean;
}

function usdAmount(value: string): number {
  const n = Number(value.replace(/^\$/, ''));
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be an amount of USD above 0, e.g. 2.50');
  return n;
}

function decisionOf(flags: ReviewFlags): ReviewDecision | InputError | undefined {
  const chosen: ReviewDecision[] = [];
  if (flags.approve) chosen.push({ decision: 'approve' });
  if (flags.feedback !== undefined) {
    if (flags.feedback.trim() === '') return new InputError([{ file: 'command line', field: '--feedback', message: 'the feedback text is empty' }]);
    chosen.push({ decision: 'feedback', text: flags.feedback });
  }
  if (flags.skipStep) chosen.push({ decision: 'skip_step' });
  if (flags.abort) chosen.push({ decision: 'abort' });
  if (flags.raiseBudget !== undefined) chosen.push({ decision: 'raise_budget', usd: flags.raiseBudget });
  if (chosen.length > 1) {
    const options =
      flags.raiseBudget === undefined ? '--approve, --feedback, --skip-step or --abort' : '--approve, --feedback, --skip-step, --abort or --raise-budget';
    return new InputError([{ file: 'command line', message: `choose one decision: ${options}` }]);
  }
  return chosen[0];
}

export const registerReviewCommand: RegisterCommand = (program, io, done) => {
  withNatsOption(
    withRunOptions(
      program
        .command('review')
        .description('list tasks waiting for a person, or decide on one and continue it')
        .argument('[task]', 'id of the task to decide on')
        .option('--approve', 'accept the plan or the step as it is')
        .option('--feedback <text>', 'send the plan or step back with your instructions')
        .option('--skip-step', 'skip the waiting step (its changes are discarded)')
        .option('--abort', 'abort the task (its worktree and branch are deleted)')
        .option('--raise-budget <usd>', 'a task stopped by a budget continues, allowed this many more USD', usdAmount)

        .option('--json', 'with a decision: one JSON event per line (docs/cli-json.md); without: the waiting tasks as JSON'),
    ),
  ).action(async (taskId: string | undefined, flags: ReviewFlags) => {
    const decision = decisionOf(flags);
    if (decision instanceof InputError) return done(printInputError(io, decision));
    if (!decision || taskId === undefined) {
      if (decision) return done(printInputError(io, new InputError([{ file: 'command line', field: 'task', message: 'name the task to decide on' }])));
      return done(await listTasks(io, flags, { waitingOnly: true, id: taskId, json: flags.json === true }));
    }
    if (flags.nats !== undefined) {
      try {
        return done(await decideOverNats(io, configFrom(io, flags), taskId, decision));
      } catch (error) {
        if (error instanceof InputError) return done(printInputError(io, error));
        throw error;
      }
    }
    const prepared = await prepare(io, flags, { continuing: true });
    if (typeof prepared === 'number') return done(prepared);
    try {
      done(
        await executeTasks({
          io,
          ...prepared,
          decision: { taskId, decision },
          json: flags.json === true,
          banner: runnerBanner(prepared.loaded),
          ...observeOptions(flags),
        }),
      );
    } catch (error) {
      if (error instanceof InputError) return done(printInputError(io, error));
      throw error;
    }
  });
};
