import { existsSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { createFileStore } from '../store/file-store.js';
import type { Plan } from '../model/role-outputs.js';
import type { Store } from '../store/store.js';
import { InputError } from '../platform/errors.js';
import { TASKS_PREFIX, TaskRecordSchema } from '../model/task-record.js';
import { planOf } from '../intake/task-summary.js';
import { readLedger, type LedgerEntry } from '../routing/cost-ledger.js';
import { buildCostReport, costGroupings, formatCostReport, type CostGroupBy } from '../routing/cost-report.js';
import { readHistory, type StepOutcome } from '../routing/history-store.js';
import { createModelRegistry } from '../routing/model-registry.js';
import { configFrom, withNatsOption, withStateOptions, type CommonFlags } from './common-options.js';
import { ExitCode, type CliIO, type RegisterCommand } from './io.js';
import type { LoadedConfig } from '../config/load-config.js';
import { withNats } from './nats-commands.js';
import { statePaths } from '../app/embedded.js';
import { printInputError } from './print-error.js';

interface CostFlags extends CommonFlags {
  readonly task?: string;
  readonly since?: number;
  readonly by: CostGroupBy;
  readonly json?: boolean;
}

/**
 * Reads the ledger and step history without taking the state dir's lock, so `cost` and `route`
 * work beside a running `tandem run`.
 */
async function readRoutingRecords(stateDir: string): Promise<{ ledger: LedgerEntry[]; history: StepOutcome[]; plans: Map<string, Plan> }> {
  const dir = statePaths(stateDir).store;
  if (!existsSync(dir)) return { ledger: [], history: [], plans: new Map() };
  const store = await createFileStore({ dir });
  try {
    return { ledger: await readLedger(store), history: await readHistory(store), plans: await readPlans(store) };
  } finally {
    await store.close();
  }
}

type RoutingRecords = Awaited<ReturnType<typeof readRoutingRecords>>;

/** The state dir's records, or with `--nats` the shared store's (every service's calls): an exit code when NATS fails. */
export async function routingRecordsFor(io: CliIO, loaded: LoadedConfig, flags: CommonFlags, name: string): Promise<RoutingRecords | ExitCode> {
  if (flags.nats === undefined) return readRoutingRecords(loaded.stateDir);
  let records: RoutingRecords | undefined;
  const code = await withNats(io, loaded, name, async ({ store }) => {
    records = { ledger: await readLedger(store), history: await readHistory(store), plans: await readPlans(store) };
    return ExitCode.ok;
  });
  return records ?? code;
}

/** The plan of every task the store has one for (kept on the record, or in its machine snapshot). */
async function readPlans(store: Store): Promise<Map<string, Plan>> {
  const plans = new Map<string, Plan>();
  for (const entry of await store.list(TASKS_PREFIX)) {
    const record = TaskRecordSchema.safeParse(entry.value);
    if (!record.success) continue;
    const plan = record.data.plan ?? planOf(record.data);
    if (plan) plans.set(record.data.id, plan);
  }
  return plans;
}

/** `2025-03-01` (UTC midnight) or any ISO 8601 time. */
function parseSince(value: string): number {
  const at = /^\d{4}-\d{2}-\d{2}$/.test(value) ? Date.parse(`${value}T00:00:00Z`) : Date.parse(value);
  if (!Number.isFinite(at)) throw new InvalidArgumentError('must be a date (YYYY-MM-DD, UTC) or an ISO 8601 time');
  return at;
}

function groupBy(value: string): CostGroupBy {
  const found = costGroupings.find((g) => g === value);
  if (!found) throw new InvalidArgumentError(`must be one of ${costGroupings.join(', ')}`);
  return found;
}

export const registerCostCommand: RegisterCommand = (program, io, done) => {
  withNatsOption(
    withStateOptions(
      program.command('cost').description('spend from the recorded model calls, and what the same calls would have cost on the strongest model'),
    ),
  )
    .option('--task <id>', 'only this task')
    .option('--since <date>', 'only calls from this date (YYYY-MM-DD, UTC) or ISO 8601 time on', parseSince)
    .option('--by <what>', `group by ${costGroupings.join(', ')}`, groupBy, 'model')
    .option('--json', 'print JSON')
    .action(async (flags: CostFlags) => {
      try {
        const loaded = configFrom(io, flags);
        const records = await routingRecordsFor(io, loaded, flags, 'tandem cost');
        if (typeof records === 'number') return done(records);
        const { ledger } = records;
        if (flags.task !== undefined && !ledger.some((e) => e.task_id === flags.task)) {
          throw new InputError([
            {
              file: 'command line',
              field: '--task',
              message: `no recorded calls of task ${flags.task} in ${flags.nats === undefined ? loaded.stateDir : 'the shared store'}`,
            },
          ]);
        }
        const registry = createModelRegistry(loaded.config.models, { strongest: loaded.config.routing.strongest });
        const report = buildCostReport(ledger, { by: flags.by, task: flags.task, since: flags.since, registry });
        io.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatCostReport(report));
        done(ExitCode.ok);
      } catch (error) {
        if (error instanceof InputError) return done(printInputError(io, error));
        throw error;
      }
    });
};
