import { resolve } from 'node:path';
import { TaskEventSchema, type ReviewDecision } from '../model/task-events.js';
import { openNatsWorkQueue } from '../queue/nats-work-queue.js';
import { subject } from '../bus/subjects.js';
import { submissionsQueue } from '../queue/work-queue.js';
import { StoreError, InputError, errorMessage, type InputIssue } from '../platform/errors.js';
import type { LoadedConfig } from '../config/load-config.js';
import { openNats, type NatsParts } from '../distributed/open-nats.js';
import { decisionKey, type PendingDecision } from '../distributed/supervisor-service.js';
import { TASKS_PREFIX, TaskRecordSchema, taskKey, type TaskRecord } from '../model/task-record.js';
import { loadTaskFiles } from '../tasks/load-tasks.js';
import { resolveTaskRepos } from '../tasks/resolve-repos.js';
import { silentLogger } from '../telemetry/logger.js';
import { configFrom, withNatsOption, withStateOptions, type CommonFlags } from './common-options.js';
import { ExitCode, type CliIO, type RegisterCommand } from './io.js';
import { printInputError } from './print-error.js';
import { createProgressPrinter } from './progress.js';

/**
 * The commands of distributed mode that talk to the services only through NATS: `submit` hands
 * tasks to the supervisors' queue and returns, `events` follows the lifecycle, and `status` /
 * `review` read and decide through the shared store.
 */

/** Opens NATS for a short command; bad settings and an unreachable server become exit codes. */
export async function withNats(io: CliIO, loaded: LoadedConfig, name: string, use: (nats: NatsParts) => Promise<ExitCode>): Promise<ExitCode> {
  let nats: NatsParts;
  try {
    nats = await openNats(loaded, silentLogger(), name);
  } catch (error) {
    if (error instanceof InputError) return printInputError(io, error);
    if (error instanceof StoreError) {
      io.stderr.write(`tandem: ${error.message}\n`);
      return ExitCode.failed;
    }
    throw error;
  }
  try {
    return await use(nats);
  } finally {
    await nats.close();
  }
}

export async function readNatsRecords(nats: NatsParts): Promise<TaskRecord[]> {
  const entries = await nats.store.list(TASKS_PREFIX);
  return entries.map((e) => TaskRecordSchema.parse(e.value)).sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
}

/** `--nats <the servers used>` for a hint, without any user name or password a URL carries. */
export function natsArgument(loaded: Pick<LoadedConfig, 'config'>): string {
  const servers = loaded.config.nats?.servers ?? [];
  const shown = servers.map((server) => {
    try {
      const url = new URL(server);
      url.username = '';
      url.password = '';
      return url.toString().replace(/\/$/, '');
    } catch {
      return server;
    }
  });
  return shown.length === 0 ? '--nats' : `--nats ${shown.join(',')}`;
}

interface SubmitFlags extends CommonFlags {
  readonly repo?: string;
  readonly json?: boolean;
}

export const registerSubmitCommand: RegisterCommand = (program, io, done) => {
  withNatsOption(
    withStateOptions(
      program
        .command('submit')
        .description('hand tasks to the supervisors over NATS and return (distributed mode; see `tandem serve`)')
        .argument('<paths...>', 'task files or folders')
        .option('--repo <path>', 'repository to work on (overrides each task\'s "repo"); the services must see the same path')
        .option('--base <branch>', "base branch (default: the repository's current branch)")
        .option('--json', 'print the submitted ids as JSON'),
    ),
  ).action(async (paths: string[], flags: SubmitFlags) => {
    let loaded: LoadedConfig;
    let tasks;
    try {
      loaded = configFrom(io, flags);
      const files = await loadTaskFiles(paths.map((p) => resolve(io.cwd, p)));
      tasks = await resolveTaskRepos(files, {
        cwd: io.cwd,
        ...(flags.repo === undefined ? {} : { repo: flags.repo }),
        ...((flags.base ?? loaded.config.base) ? { base: flags.base ?? loaded.config.base } : {}),
        ignore: ['.tandem/'],
      });
    } catch (error) {
      if (error instanceof InputError) return done(printInputError(io, error));
      throw error;
    }
    done(
      await withNats(io, loaded, 'tandem submit', async (nats) => {
        // Ids already known to the shared store are refused before anything is sent.
        const duplicates: InputIssue[] = [];
        for (const task of tasks) {
          const existing = await nats.store.get(taskKey(task.spec.id));
          if (existing) {
            const state = TaskRecordSchema.safeParse(existing.value).data?.state ?? 'unknown';
            duplicates.push({
              file: task.spec.source?.file ?? 'task',
              line: task.spec.source?.line,
              field: 'id',
              message: `task ${task.spec.id} already exists (state ${state}); give it a new id`,
            });
          }
        }
        if (duplicates.length > 0) return printInputError(io, new InputError(duplicates));
        const queue = await openNatsWorkQueue({ connection: nats.connection, spec: submissionsQueue() });
        try {
          const submitted: string[] = [];
          for (const task of tasks) {
            const message = { type: 'task.submit' as const, spec: task.spec, repo: task.repo, base: task.base, baseCommit: task.baseCommit, at: Date.now() };
            // The id makes a repeated submit of the same task within the queue's window a no-op.
            const { duplicate } = await queue.enqueue(subject({ kind: 'tasks.submit' }), message, { id: task.spec.id });
            submitted.push(task.spec.id);
            if (flags.json) continue;
            io.stdout.write(
              duplicate
                ? `${task.spec.id} was already submitted and waits for a supervisor; not sent again\n`
                : `submitted ${task.spec.id} (${task.repo} @ ${task.base})\n`,
            );
          }
          if (flags.json) io.stdout.write(`${JSON.stringify({ submitted })}\n`);
          else {
            const nats = natsArgument(loaded);
            io.stdout.write(`follow them with \`tandem events --follow ${nats}\`, or \`tandem status ${nats}\`\n`);
          }
          return ExitCode.ok;
        } finally {
          await queue.close();
        }
      }),
    );
  });
};

interface EventsFlags extends CommonFlags {
  readonly follow?: boolean;
  readonly task?: string;
  readonly json?: boolean;
}

export const registerEventsCommand: RegisterCommand = (program, io, done) => {
  withNatsOption(
    withStateOptions(
      program
        .command('events')
        .description('print lifecycle events of every task (or one) as the services publish them (distributed mode)')
        .option('--follow', 'keep printing until interrupted (Ctrl-C)')
        .option('--task <id>', 'only this task')
        .option('--json', 'one JSON event per line'),
    ),
  ).action(async (flags: EventsFlags) => {
    let loaded: LoadedConfig;
    try {
      loaded = configFrom(io, flags);
      if (!flags.follow)
        throw new InputError([
          {
            file: 'command line',
            field: '--follow',
            message: 'events are live: pass --follow (and Ctrl-C to stop); `tandem status --nats` shows where tasks stand',
          },
        ]);
    } catch (error) {
      if (error instanceof InputError) return done(printInputError(io, error));
      throw error;
    }
    done(
      await withNats(io, loaded, 'tandem events', async (nats) => {
        const printer = flags.json
          ? undefined
          : createProgressPrinter({ write: (t) => io.stdout.write(t), now: () => Date.now(), color: io.stdout.isTTY === true });
        const pattern = flags.task === undefined ? subject({ kind: 'events.all' }) : subject({ kind: 'events.task', taskId: flags.task });
        const subscription = nats.bus.subscribe(pattern, (message) => {
          const event = TaskEventSchema.safeParse(message);
          if (!event.success) return;
          if (flags.json) io.stdout.write(`${JSON.stringify(event.data)}\n`);
          else printer?.onEvent(event.data);
        });
        io.stderr.write(`tandem events: following ${flags.task ?? 'every task'} on ${nats.servers} (Ctrl-C to stop)\n`);
        await new Promise<void>((resolveWait) => {
          if (io.signal.aborted) resolveWait();
          io.signal.addEventListener('abort', () => resolveWait(), { once: true });
        });
        subscription.unsubscribe();
        return ExitCode.ok;
      }),
    );
  });
};

/**
 * `tandem review <task> --… --nats`: the decision is stored (so it survives until a supervisor
 * applies it, even if none runs right now) and announced; then this waits a little to report what
 * the supervisor did.
 */
export async function decideOverNats(io: CliIO, loaded: LoadedConfig, taskId: string, decision: ReviewDecision, waitMs = 10_000): Promise<ExitCode> {
  return withNats(io, loaded, 'tandem review', async (nats) => {
    const entry = await nats.store.get(taskKey(taskId));
    const record = entry ? TaskRecordSchema.parse(entry.value) : undefined;
    if (!record) return printInputError(io, new InputError([{ file: 'review', field: 'task', message: `no task ${taskId} on ${nats.servers}` }]));
    if (record.state !== 'AWAITING_HUMAN_REVIEW') {
      return printInputError(io, new InputError([{ file: 'review', field: 'task', message: `task ${taskId} is ${record.state}, not waiting for a person` }]));
    }
    const pending: PendingDecision = { decision, at: Date.now(), by: io.env['USER'] };
    try {
      await nats.store.put(decisionKey(taskId), pending, { expectedRevision: 0 });
    } catch (error) {
      if (error instanceof StoreError && error.code === 'conflict') {
        return printInputError(
          io,
          new InputError([{ file: 'review', field: 'task', message: `a decision for ${taskId} is already waiting for a supervisor to apply it` }]),
        );
      }
      throw error;
    }
    await nats.bus.publish(subject({ kind: 'control', taskId }), {
      type: 'review.decision',
      taskId,
      at: Date.now(),
      decision,
      ...(pending.by ? { by: pending.by } : {}),
    });
    io.stdout.write(`decision for ${taskId} stored: ${decision.decision}\n`);
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline && !io.signal.aborted) {
      await new Promise((r) => setTimeout(r, 200));
      if ((await nats.store.get(decisionKey(taskId))) !== undefined) continue;
      const now = await nats.store.get(taskKey(taskId));
      const state = now ? TaskRecordSchema.safeParse(now.value).data?.state : undefined;
      io.stdout.write(`a supervisor applied it; ${taskId} is ${state ?? 'unknown'} now\n`);
      return ExitCode.ok;
    }
    io.stdout.write(`no supervisor has applied it yet; it stays stored until one does (is \`tandem serve supervisor\` running?)\n`);
    return ExitCode.ok;
  }).catch((error: unknown) => {
    io.stderr.write(`tandem review: ${errorMessage(error)}\n`);
    return ExitCode.failed;
  });
}
