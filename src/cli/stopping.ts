import type { TaskEvent } from '../model/task-events.js';
import { ExitCode, type CliIO } from './io.js';

/**
 * How a run stops on Ctrl-C / SIGTERM. The first signal starts no new work: a task with no call in
 * flight (planning between calls, PAUSED for a rate limit, queued) stops at once, a task whose model
 * call or gate is running stops as soon as that answers (its result is stored, so nothing paid for
 * is lost). The second signal stops every task now, cancelling the calls in flight. Either way the
 * stored state stays where it stood and `tandem resume` continues from there.
 */
export interface GracefulStop {
  /** Feed every lifecycle event: it tells which tasks have a call or a gate in flight. */
  onEvent(event: TaskEvent): void;
  /** First signal; returns how many calls (and gates) are still finishing. */
  begin(): number;
  /** Second signal, or the deadline: every task stops now. */
  now(): void;
  /** Whether a task may (still) start: not once stopping began. */
  mayStart(taskId: string): boolean;
  readonly stopping: boolean;
}

export interface GracefulStopOptions {
  /** Ids of the tasks the runtime drives now. */
  readonly active: () => readonly string[];
  /** Stops driving one task where it stands. */
  readonly stopTask: (taskId: string) => void;
  /** After this long the calls still in flight are cancelled (the role call timeout). */
  readonly deadlineMs: number;
}

/** How long a task whose call answered may take to store its next state before it is stopped anyway. */
const settleMs = 2_000;

export function createGracefulStop(options: GracefulStopOptions): GracefulStop {
  /** Task id → what it waits for: a model call or the quality gate. */
  const inFlight = new Map<string, 'call' | 'gate'>();
  let stopping = false;
  let deadline: NodeJS.Timeout | undefined;

  /**
   * A call that answered is stored with the transition it causes, which is announced by the next
   * task.state: the task stops then (or, should no state follow, shortly after).
   */
  const answered = (taskId: string): void => {
    inFlight.delete(taskId);
    if (stopping) setTimeout(() => options.stopTask(taskId), settleMs).unref();
  };

  const self: GracefulStop = {
    get stopping() {
      return stopping;
    },
    onEvent(event) {
      switch (event.type) {
        case 'role.started':
          inFlight.set(event.taskId, 'call');
          if (stopping) options.stopTask(event.taskId);
          return;
        case 'role.finished':
        case 'role.refused':
        case 'gate.finished':
          answered(event.taskId);
          return;
        case 'task.state':
          if (event.state === 'QUALITY_GATE') {
            inFlight.set(event.taskId, 'gate');
            if (stopping) options.stopTask(event.taskId);
          } else {
            if (inFlight.get(event.taskId) === 'gate') inFlight.delete(event.taskId);
            if (stopping && !inFlight.has(event.taskId)) options.stopTask(event.taskId);
          }
          return;
        default:
          return;
      }
    },
    begin() {
      if (stopping) return inFlight.size;
      stopping = true;
      for (const id of options.active()) if (!inFlight.has(id)) options.stopTask(id);
      deadline = setTimeout(() => self.now(), options.deadlineMs);
      deadline.unref();
      return inFlight.size;
    },
    now() {
      stopping = true;
      if (deadline) clearTimeout(deadline);
      for (const id of options.active()) options.stopTask(id);
      inFlight.clear();
    },
    mayStart() {
      return !stopping;
    },
  };
  return self;
}

/** The notice of the first signal, the same for every command that runs tasks. */
export function stoppingNotice(calls: number, then = '`tandem resume` continues'): string {
  return `\nstopping: finishing ${calls} ${calls === 1 ? 'call' : 'calls'} (Ctrl-C again to stop now); ${then}\n`;
}

/**
 * For the long-running commands (watch, bot): after the first signal, as `tandem run` does: nothing
 * new starts, the calls in flight finish (a second signal cancels them), and the command says how it
 * stopped. `settled` stops taking work and resolves once no task runs any more; then the exit code.
 */
export async function stopLikeRun(
  io: Pick<CliIO, 'stderr' | 'stopNow'>,
  stop: GracefulStop,
  settled: () => Promise<void>,
): Promise<typeof ExitCode.interrupted> {
  io.stderr.write(stoppingNotice(stop.begin()));
  const stopNow = io.stopNow;
  const onStopNow = (): void => {
    io.stderr.write('stopping now: the calls in flight are cancelled\n');
    stop.now();
  };
  if (stopNow?.aborted) onStopNow();
  else stopNow?.addEventListener('abort', onStopNow, { once: true });
  try {
    await settled();
  } finally {
    stopNow?.removeEventListener('abort', onStopNow);
  }
  io.stderr.write('tandem: interrupted; every task stopped where it stood. `tandem resume` (or the next start) continues them.\n');
  return ExitCode.interrupted;
}

/** What `tandem serve` stops: its role services. */
interface StoppableService {
  readonly service: string;
  stats(): { readonly running: number };
  stop(options: { readonly handBackAfterMs: number }): Promise<void>;
}

/**
 * `tandem serve` after the first signal, as `tandem run`: says how many calls it lets finish (the
 * services then stop taking work and hand back what is still running after `--hand-back-ms`); a
 * second signal hands the calls in flight back to the queue at once, for another replica.
 */
export function stopServicesLikeRun(
  io: Pick<CliIO, 'stderr' | 'stopNow'>,
  services: readonly StoppableService[],
  warn: (error: unknown, service: string) => void,
): void {
  const running = services.reduce((n, s) => n + s.stats().running, 0);
  io.stderr.write(stoppingNotice(running, 'the tasks continue on the next supervisor'));
  const onStopNow = (): void => {
    io.stderr.write('stopping now: the calls in flight go back to the queue\n');
    for (const s of services) void s.stop({ handBackAfterMs: 0 }).catch((error: unknown) => warn(error, s.service));
  };
  if (io.stopNow?.aborted) onStopNow();
  else io.stopNow?.addEventListener('abort', onStopNow, { once: true });
}
