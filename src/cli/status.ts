import { existsSync } from 'node:fs';
import { createFileStore } from '../store/file-store.js';
import { InputError } from '../platform/errors.js';
import { TASKS_PREFIX, TaskRecordSchema, type TaskRecord } from '../model/task-record.js';
import { configFrom, withNatsOption, withStateOptions, type CommonFlags } from './common-options.js';
import { readNatsRecords, withNats } from './nats-commands.js';
import { ExitCode, type CliIO, type RegisterCommand } from './io.js';
import { statePaths } from '../app/embedded.js';
import { printInputError, reviewHint } from './print-error.js';
import { formatCost, formatDuration } from '../platform/format.js';
import { findingsLines } from '../mediator/findings-text.js';

/** Reads task records without taking the state dir's lock, so it works beside a running `tandem run`. */
async function readRecords(stateDir: string): Promise<TaskRecord[]> {
  const dir = statePaths(stateDir).store;
  if (!existsSync(dir)) return [];
  const store = await createFileStore({ dir });
  try {
    const entries = await store.list(TASKS_PREFIX);
    return entries.map((e) => TaskRecordSchema.parse(e.value)).sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  } finally {
    await store.close();
  }
}

/** One row of `tandem status`; an aborted task's branch is gone (abort removes it), so none is shown. */
export function statusRow(record: TaskRecord, now: number): string[] {
  const step = record.stepId ? `${record.stepId} (${(record.stepIndex ?? 0) + 1}/${record.stepCount ?? '?'})` : record.stepCount ? `${record.commits.length}/${record.stepCount}` : '-';
  return [record.id, record.state, step, String(record.attempt), formatCost(record.costUsd, record.estimatedCostUsd), formatDuration((record.finishedAt ?? now) - record.createdAt), record.state === 'ABORTED' ? '-' : (record.branch ?? '-')];
}

export async function listTasks(io: CliIO, flags: CommonFlags, options: { waitingOnly?: boolean; id?: string | undefined; json: boolean }): Promise<ExitCode> {
  let records: TaskRecord[] = [];
  try {
    const loaded = configFrom(io, flags);
    if (flags.nats === undefined) records = await readRecords(loaded.stateDir);
    else {
      const code = await withNats(io, loaded, 'tandem status', async (nats) => {
        records = await readNatsRecords(nats);
        return ExitCode.ok;
      });
      if (code !== ExitCode.ok) return code;
    }
  } catch (error) {
    if (error instanceof InputError) return printInputError(io, error);
    throw error;
  }
  if (options.id !== undefined) {
    records = records.filter((r) => r.id === options.id);
    if (records.length === 0) return printInputError(io, new InputError([{ file: 'command line', field: 'task', message: `no task ${options.id}` }]));
  }
  if (options.waitingOnly) records = records.filter((r) => r.state === 'AWAITING_HUMAN_REVIEW');
  if (options.json) {
    io.stdout.write(`${JSON.stringify(records.map(({ snapshot: _snapshot, ...rest }) => rest), null, 2)}\n`);
    return ExitCode.ok;
  }
  if (records.length === 0) {
    io.stdout.write(options.waitingOnly ? 'no task is waiting for a person\n' : 'no tasks yet\n');
    return ExitCode.ok;
  }
  const now = Date.now();
  const header = ['TASK', 'STATE', 'STEP', 'ATTEMPT', 'COST', 'TIME', 'BRANCH'];
  const rows = records.map((r) => statusRow(r, now));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const render = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  io.stdout.write(`${[render(header), ...rows.map(render)].join('\n')}\n`);
  for (const r of records) {
    if (r.state === 'AWAITING_HUMAN_REVIEW' && r.waiting) io.stdout.write(`\n${r.id} waits for a person (${r.waiting.stage}, ${r.waiting.kind}): ${r.waiting.reason}\n  ${reviewHint(r.id, r.waiting.kind)}\n`);
    else if ((r.state === 'FAILED' || r.state === 'ABORTED') && r.failure) io.stdout.write(`\n${r.id} ${r.state}: ${r.failure}\n`);
    else if (r.state === 'PAUSED' && r.pausedUntil) io.stdout.write(`\n${r.id} is paused until ${new Date(r.pausedUntil).toISOString()}\n`);
    // One task asked for: its report steps' findings too (an analysis task delivers nothing else).
    if (options.id !== undefined && r.findings && r.findings.length > 0) io.stdout.write(`\nFindings of ${r.id}:\n\n${findingsLines(r.findings).join('\n')}\n`);
  }
  return ExitCode.ok;
}

export const registerStatusCommand: RegisterCommand = (program, io, done) => {
  withNatsOption(withStateOptions(program.command('status').description('show every task, its state, step, attempt, cost and branch')))
    .argument('[task]', 'show only this task')
    .option('--json', 'print JSON')
    .action(async (taskId: string | undefined, flags: CommonFlags & { json?: boolean }) => {
      done(await listTasks(io, flags, { id: taskId, json: flags.json === true }));
    });
};
