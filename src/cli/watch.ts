import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { createMediator, type Mediator } from '../mediator/mediator.js';
import type { Subscription } from '../bus/bus.js';
import { DEFAULT_MEDIATOR_MODEL, createOllamaMediatorModel, probeOllama } from '../mediator/mediator-model.js';
import { InputError, errorMessage, type InputIssue } from '../platform/errors.js';
import { createTaskDesk } from '../notify/task-desk.js';
import { createTelegramBot, type TelegramBot } from '../notify/telegram.js';
import type { LoadedTask } from '../tasks/load-tasks.js';
import { resolveTaskRepos } from '../tasks/resolve-repos.js';
import { createTaskSummaries } from '../intake/task-summary.js';
import { createTaskWatcher, type TaskWatcher } from '../intake/watcher.js';
import { excludeFromRepo } from '../workspace/repo-exclude.js';
import { git } from '../workspace/git.js';
import { configFrom, positiveInt, withNatsOption, withRunOptions, type CommonFlags } from './common-options.js';
import { commandLogger } from './execute.js';
import { ExitCode, type CliIO, type RegisterCommand } from './io.js';
import { relativeInside } from '../app/embedded.js';
import { duration } from './serve-options.js';
import { openTaskHost, type TaskHost } from './task-host.js';
import { printInputError } from './print-error.js';
import { createProgressPrinter } from './progress.js';
import { useColor } from './output.js';
import { prepare, runnerBanner } from './run.js';
import { createGracefulStop, stopLikeRun } from './stopping.js';

/**
 * `tandem watch <dir>` and `tandem bot` share one long-running service: a runtime on the state dir
 * (which only one process may hold), the mediator, and the watcher and/or the Telegram bot, so a
 * decision made in Telegram reaches the very runtime that runs the watched folder's tasks.
 */

export interface ServeFlags extends CommonFlags {
  readonly repo?: string;
  readonly settleMs?: number;
  readonly pollMs?: number;
  readonly once?: boolean;
  /** `--no-mediator` sets it false. */
  readonly mediator?: boolean;
  readonly ollamaHost?: string;
  readonly mediatorModel?: string;
  readonly mediatorTimeoutMs?: number;
  readonly allowChat?: readonly string[];
  readonly telegramApi?: string;
  /** With --nats: the watcher's stable name, and how long to wait for NATS at start-up. */
  readonly id?: string;
  readonly natsWait: number;
}

export interface ServeMode {
  readonly watchDir?: string | undefined;
  readonly bot: boolean;
}

/** Options of both commands; the lead may move the mediator and Telegram ones into tandem.config.yaml. */
export function withServeOptions(command: Command): Command {
  return withNatsOption(withRunOptions(command))
    .option(
      '--id <name>',
      "with --nats: this watcher's stable name; a restart under it takes up its own claimed files (default: POD_NAME, HOSTNAME or the host name)",
    )
    .option('--nats-wait <duration>', 'with --nats: wait this long for NATS at start-up (300s, 5m, 0 to fail at once)', duration, 300_000)
    .option('--repo <path>', 'repository the tasks run in when they name none (default: the current folder)')
    .option('--base <branch>', "base branch (default: the repository's current branch)")
    .option('--no-mediator', 'do not use a local model (summaries come from a template; free-form Telegram requests are refused)')
    .option('--ollama-host <url>', 'Ollama server of the mediator (default: $OLLAMA_HOST or http://127.0.0.1:11434)')
    .option('--mediator-model <name>', `Ollama model of the mediator (default: $TANDEM_MEDIATOR_MODEL or ${DEFAULT_MEDIATOR_MODEL})`)
    .option('--mediator-timeout-ms <ms>', 'longest wait for one answer of the local model (default 120000)', positiveInt)
    .option('--allow-chat <ids...>', 'Telegram chat ids the bot serves (default: $TANDEM_TELEGRAM_ALLOW, comma-separated)')
    .option('--telegram-api <url>', 'Bot API server (default: $TANDEM_TELEGRAM_API or https://api.telegram.org)');
}

interface TelegramSettings {
  readonly token: string;
  readonly allowChats: readonly number[];
  readonly apiRoot: string | undefined;
}

function telegramSettings(io: CliIO, flags: ServeFlags): TelegramSettings {
  const issues: InputIssue[] = [];
  const token = io.env['TELEGRAM_BOT_TOKEN']?.trim() ?? '';
  if (token === '') issues.push({ file: 'environment', field: 'TELEGRAM_BOT_TOKEN', message: 'set it to the token @BotFather gave your bot' });
  const fromFlag = flags.allowChat !== undefined;
  const raw = fromFlag ? (flags.allowChat ?? []).join(',') : (io.env['TANDEM_TELEGRAM_ALLOW'] ?? '');
  const allowChats: number[] = [];
  for (const item of raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')) {
    if (/^-?\d{1,16}$/.test(item)) allowChats.push(Number(item));
    else
      issues.push({
        file: fromFlag ? 'command line' : 'environment',
        field: fromFlag ? '--allow-chat' : 'TANDEM_TELEGRAM_ALLOW',
        message: `"${item}" is not a chat id (a whole number, negative for groups)`,
      });
  }
  if (issues.length > 0) throw new InputError(issues);
  return { token, allowChats, apiRoot: flags.telegramApi ?? io.env['TANDEM_TELEGRAM_API'] };
}

async function repoRootOf(io: CliIO, flags: ServeFlags): Promise<string> {
  const given = resolve(io.cwd, flags.repo ?? '.');
  const result = await git(given, ['rev-parse', '--show-toplevel'], { allowFailure: true }).catch(() => undefined);
  if (!result || result.exitCode !== 0) {
    throw new InputError([{ file: 'command line', field: flags.repo === undefined ? 'cwd' : '--repo', message: `${given} is not inside a git repository` }]);
  }
  return result.stdout.trim();
}

async function checkFolder(dir: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new InputError([{ file: dir, message: info ? 'is not a folder' : 'no such folder; create it first' }]);
}

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolveWait) => {
    if (signal.aborted) return resolveWait();
    signal.addEventListener('abort', () => resolveWait(), { once: true });
  });
}

/** `--once`: what happened, and an exit code like `tandem run`'s (a rejected file counts as failed work). */
async function onceOutcome(io: CliIO, watcher: TaskWatcher, opened: TaskHost): Promise<ExitCode> {
  const stats = watcher.stats();
  const states = new Map<string, number>();
  for (const id of stats.tasks) {
    const state = (await opened.runtime.get(id))?.state ?? 'UNKNOWN';
    states.set(state, (states.get(state) ?? 0) + 1);
  }
  const counts = [...states].map(([state, n]) => `${n} ${state}`).join(', ') || 'none';
  const failed = stats.failed > 0 ? ` (${stats.failed} after repeated internal failures, see rejected/)` : '';
  io.stdout.write(`\nwatch: ${stats.claimed} file${stats.claimed === 1 ? '' : 's'} claimed, ${stats.rejected} rejected${failed}; tasks: ${counts}\n`);
  if (stats.rejected > 0 || (states.get('FAILED') ?? 0) > 0 || (states.get('ABORTED') ?? 0) > 0) return ExitCode.failed;
  if ((states.get('AWAITING_HUMAN_REVIEW') ?? 0) > 0) return ExitCode.waiting;
  return ExitCode.ok;
}

/** Runs the watcher and/or the bot until interrupted (or, with --once, until the folder is done). */
export async function serve(io: CliIO, flags: ServeFlags, mode: ServeMode): Promise<ExitCode> {
  // Over NATS the services run the models: no runner is needed here.
  let prepared;
  try {
    prepared = flags.nats === undefined ? await prepare(io, flags) : { loaded: configFrom(io, flags), runners: undefined };
  } catch (error) {
    if (error instanceof InputError) return printInputError(io, error);
    throw error;
  }
  if (typeof prepared === 'number') return prepared;
  const { loaded, runners } = prepared;
  let repoRoot: string;
  let watchDir: string | undefined;
  let telegram: TelegramSettings | undefined;
  try {
    repoRoot = await repoRootOf(io, flags);
    if (mode.watchDir !== undefined) {
      watchDir = resolve(io.cwd, mode.watchDir);
      await checkFolder(watchDir);
    }
    if (mode.bot) telegram = telegramSettings(io, flags);
  } catch (error) {
    if (error instanceof InputError) return printInputError(io, error);
    throw error;
  }

  const logger = commandLogger(io, loaded);
  // The host opens after the stop it asks before starting a task; until then nothing runs.
  const opened: { host?: TaskHost } = {};
  const stop = createGracefulStop({
    active: () => opened.host?.active() ?? [],
    stopTask: (id) => opened.host?.stopTask(id),
    deadlineMs: loaded.config.limits.role_timeout_ms,
  });
  const host = await openTaskHost(io, loaded, logger, runners, flags, (id) => stop.mayStart(id));
  if (typeof host === 'number') return host;
  opened.host = host;
  let watcher: TaskWatcher | undefined;
  let bot: TelegramBot | undefined;
  let progress: Subscription | undefined;
  try {
    const ignore = ['.tandem/'];
    for (const dir of [host.ownsStateDir ? loaded.stateDir : undefined, watchDir]) {
      const rel = dir === undefined ? undefined : relativeInside(repoRoot, dir);
      if (rel === undefined) continue;
      // Task files and reports inside the repository must not make its base branch look dirty.
      await excludeFromRepo(repoRoot, rel);
      ignore.push(`${rel}/`);
    }
    const base = flags.base ?? loaded.config.base;
    const resolveTasks = (tasks: readonly LoadedTask[]) =>
      resolveTaskRepos(
        tasks.map((t) => (t.spec.repo === undefined ? { ...t, spec: { ...t.spec, repo: repoRoot } } : t)),
        { cwd: io.cwd, ignore, ...(base === undefined ? {} : { base }) },
      );

    let mediator: Mediator | undefined;
    let mediatorLine = 'mediator: off (--no-mediator); summaries come from a template';
    if (flags.mediator !== false) {
      const host = flags.ollamaHost ?? io.env['OLLAMA_HOST'];
      const model = flags.mediatorModel ?? io.env['TANDEM_MEDIATOR_MODEL'] ?? DEFAULT_MEDIATOR_MODEL;
      mediator = createMediator({ model: createOllamaMediatorModel({ host, model, timeoutMs: flags.mediatorTimeoutMs }) });
      const probe = await probeOllama({ host, model });
      mediatorLine = probe.ok
        ? `mediator: ${probe.message}`
        : `mediator: ${probe.message}; until it is, summaries come from a template and free-form requests are refused`;
    }
    const summaries = createTaskSummaries({ mediator, logger });

    if (watchDir !== undefined) {
      watcher = createTaskWatcher({
        dir: watchDir,
        owner: host.owner,
        runtime: host.runtime,
        resolve: resolveTasks,
        summaries,
        logger,
        ...(flags.settleMs === undefined ? {} : { settleMs: flags.settleMs }),
        ...(flags.pollMs === undefined ? {} : { pollMs: flags.pollMs }),
      });
    }
    const lines = [runnerBanner(loaded).trimEnd(), `repository: ${repoRoot} · ${host.where}`, mediatorLine];
    if (telegram) {
      const activeWatcher = watcher;
      const desk = createTaskDesk({
        runtime: host.runtime,
        mediator,
        repo: repoRoot,
        resolve: resolveTasks,
        summaries,
        logger,
        ...(activeWatcher ? { beforeSubmit: (id: string, source: string) => activeWatcher.adopt(id, source) } : {}),
      });
      bot = createTelegramBot({ token: telegram.token, allowChats: telegram.allowChats, desk, logger, apiRoot: telegram.apiRoot });
      try {
        await bot.start();
      } catch (error) {
        io.stderr.write(`tandem: ${errorMessage(error)}\n`);
        return ExitCode.badInput;
      }
      lines.push(
        telegram.allowChats.length === 0
          ? 'telegram: no chat is allow-listed, so every message is refused; refused chat ids are logged (--allow-chat <id>)'
          : `telegram: serving chat${telegram.allowChats.length === 1 ? '' : 's'} ${telegram.allowChats.join(', ')}`,
      );
    }
    if (watcher) {
      await watcher.start();
      lines.push(`watching ${watchDir}: drop *.task.md or tasks.yaml files there; results/, summaries/, logs/ and rejected/ are written beside them`);
    }
    io.stdout.write(`${lines.join('\n')}\n${flags.once ? '' : 'Ctrl-C stops; `tandem resume` or the next start continues unfinished tasks.\n'}`);
    const printer = createProgressPrinter({ write: (t) => io.stdout.write(t), now: () => Date.now(), color: useColor(io, io.stdout, {}) });
    progress = host.runtime.onEvent((event) => {
      stop.onEvent(event);
      printer.onEvent(event);
    });

    if (flags.once && watcher) {
      await watcher.idle(io.signal);
      await bot?.idle();
      if (!io.signal.aborted) return await onceOutcome(io, watcher, host);
    } else {
      await untilAborted(io.signal);
    }
    // Like `tandem run`: no new file or chat message is taken, the calls in flight finish (or, on a second
    // signal, are cancelled), and every task stays where it stood for the next start.
    return await stopLikeRun(io, stop, async () => {
      await watcher?.stop();
      await bot?.stop();
      await host.idle();
    });
  } catch (error) {
    if (error instanceof InputError) return printInputError(io, error);
    throw error;
  } finally {
    progress?.unsubscribe();
    await bot?.stop();
    await watcher?.stop();
    await host.close();
    logger.flush();
  }
}

export const registerWatchCommand: RegisterCommand = (program, io, done) => {
  withServeOptions(
    program
      .command('watch')
      .description('run every *.task.md / tasks.yaml dropped into a folder; write results/, summaries/ and logs/ beside them')
      .argument('<dir>', 'the folder to watch'),
  )
    .option('--settle-ms <ms>', 'a file is read once its size and time have not changed for this long (default 500)', positiveInt)
    .option('--poll-ms <ms>', 'how often the folder is scanned (default 250)', positiveInt)
    .option('--once', 'run what is in the folder, wait for it to finish, then exit (1 if a file was rejected or a task failed, 3 if one waits for a person)')
    .option('--bot', 'also run the Telegram bot (see `tandem bot`)')
    .action(async (dir: string, flags: ServeFlags & { bot?: boolean }) => {
      done(await serve(io, flags, { watchDir: dir, bot: flags.bot === true }));
    });
};
