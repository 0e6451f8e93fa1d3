import type { LoadedConfig } from '../config/load-config.js';
import { waitForNats } from '../distributed/open-nats.js';
import { createRemoteTasks, type RemoteTasks } from '../distributed/remote-tasks.js';
import { ownerIdOf } from '../intake/claim-file.js';
import { systemClock } from '../platform/clock.js';
import { InputError, StoreError } from '../platform/errors.js';
import { openNatsWorkQueue } from '../queue/nats-work-queue.js';
import { submissionsQueue } from '../queue/work-queue.js';
import type { Logger } from '../telemetry/logger.js';
import { openRuntime } from '../app/embedded.js';
import type { AgentRunner } from '../runners/agent-runner.js';
import { ExitCode, type CliIO } from './io.js';
import { printInputError } from './print-error.js';
import { serviceId } from './serve-options.js';

/**
 * Where `watch` and `bot` send their tasks: a runtime of their own on the state dir (embedded), or
 * with `--nats` the supervisors and role services of a distributed deployment, reached through the
 * submissions queue and the shared store (the watcher and the bot then run no model themselves).
 */
export interface TaskHost {
  readonly runtime: Omit<RemoteTasks, 'close'>;
  /** The watcher's claims folder name: stable across restarts of this watcher. */
  readonly owner: string;
  /** For the banner: the state dir, or the NATS servers. */
  readonly where: string;
  /** The state dir is this process's (embedded): it must stay out of the repository's status. */
  readonly ownsStateDir: boolean;
  /** Tasks this process drives (embedded; none over NATS, where the supervisors drive them). */
  active(): string[];
  stopTask(taskId: string): void;
  /** Resolves once the tasks this process drives rest. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export interface NatsHostFlags {
  readonly id?: string;
  readonly natsWait: number;
}

export async function openTaskHost(
  io: CliIO,
  loaded: LoadedConfig,
  logger: Logger,
  runners: Map<string, AgentRunner> | undefined,
  flags: NatsHostFlags,
  mayStart?: (taskId: string) => boolean,
): Promise<TaskHost | ExitCode> {
  if (runners !== undefined) {
    try {
      const opened = await openRuntime({ loaded, runners, logger, ...(mayStart ? { mayStart } : {}) });
      return {
        runtime: opened.runtime,
        owner: ownerIdOf(loaded.stateDir),
        where: `state dir: ${loaded.stateDir}`,
        ownsStateDir: true,
        active: () => opened.runtime.active(),
        stopTask: (taskId) => opened.runtime.stopTask(taskId),
        idle: () => opened.runtime.idle(),
        close: () => opened.close(),
      };
    } catch (error) {
      if (error instanceof StoreError && error.code === 'unavailable') {
        io.stderr.write(`tandem: the state dir ${loaded.stateDir} is in use by another tandem process: ${error.message}\n`);
        return ExitCode.badInput;
      }
      throw error;
    }
  }
  const id = serviceId(flags.id, io.env);
  let nats;
  try {
    nats = await waitForNats(loaded, logger, `tandem people tools ${id}`, { waitMs: flags.natsWait, clock: systemClock, signal: io.signal });
  } catch (error) {
    if (error instanceof InputError) return printInputError(io, error);
    if (error instanceof StoreError) {
      io.stderr.write(`tandem: ${error.message} (see --nats-wait)\n`);
      return ExitCode.failed;
    }
    throw error;
  }
  const submissions = await openNatsWorkQueue({ connection: nats.connection, spec: submissionsQueue() });
  const runtime = createRemoteTasks({ store: nats.store, bus: nats.bus, submissions, clock: systemClock, logger, by: io.env['USER'] });
  return {
    runtime,
    // Named after the service id, not a path: a restarted watcher (same --id) finds its own claims.
    owner: ownerIdOf(`nats:${id}`),
    where: `NATS: ${nats.servers} as ${id}`,
    ownsStateDir: false,
    active: () => [],
    stopTask: () => undefined,
    idle: () => Promise.resolve(),
    async close() {
      runtime.close();
      await submissions.close();
      await nats.close();
    },
  };
}
