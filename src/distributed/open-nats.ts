import type { Bus } from '../bus/bus.js';
import { openKvStore } from '../store/kv-store.js';
import { createNatsBus } from '../bus/nats-bus.js';
import { connectNats, type NatsConnection } from '../bus/nats-connection.js';
import type { Store } from '../store/store.js';
import { NatsSettingsSchema, describeNatsSettings } from '../bus/nats-settings.js';
import type { LoadedConfig } from '../config/load-config.js';
import type { Logger } from '../telemetry/logger.js';
import type { Clock } from '../platform/clock.js';
import { StoreError } from '../platform/errors.js';

/** The KV bucket holding task records, leases, role results and pending decisions. */
export const STATE_BUCKET = 'tandem';

export interface NatsParts {
  readonly connection: NatsConnection;
  readonly store: Store;
  readonly bus: Bus;
  /** The servers, without credentials: for banners and errors. */
  readonly servers: string;
  /** Whether the connection is up (not closed, not reconnecting): readiness. */
  connected(): boolean;
  close(): Promise<void>;
}

/**
 * Connects to NATS with the config's `nats:` settings (NATS_* variables and `--nats` merged in by
 * loadConfig) and opens the shared store and bus. Errors are those of connectNats: InputError when
 * the server refuses the settings, StoreError('unavailable') when none answers.
 */
export async function openNats(loaded: LoadedConfig, logger: Logger, name: string): Promise<NatsParts> {
  const settings = NatsSettingsSchema.parse({ ...loaded.config.nats, name });
  const connection = await connectNats(settings, { source: loaded.file ?? 'NATS settings', logger });
  let reconnecting = false;
  void (async () => {
    for await (const status of connection.status()) {
      if (status.type === 'disconnect' || status.type === 'reconnecting') reconnecting = true;
      if (status.type === 'reconnect') reconnecting = false;
    }
  })().catch(() => undefined);
  try {
    const store = await openKvStore({ connection, bucket: STATE_BUCKET });
    const bus = createNatsBus({
      connection,
      onInvalid: (reason, subject) => logger.warn({ reason, subject }, 'dropped an invalid bus message'),
      onError: (error, subject) => logger.warn({ err: error, subject }, 'a bus handler failed'),
    });
    return {
      connection,
      store,
      bus,
      servers: describeNatsSettings(settings).servers.join(','),
      connected: () => !connection.isClosed() && !reconnecting,
      async close() {
        await bus.close();
        await store.close();
        if (!connection.isClosed()) await connection.drain().catch(() => connection.close());
      },
    };
  } catch (error) {
    await connection.close();
    throw error;
  }
}

export interface WaitForNatsOptions {
  /** Give up after this long (the last error is thrown); 0 tries once. */
  readonly waitMs: number;
  readonly clock: Clock;
  /** Stops waiting (SIGTERM): the last error is thrown. */
  readonly signal?: AbortSignal;
  /** First wait between attempts; doubles up to `maxDelayMs`. */
  readonly minDelayMs?: number;
  readonly maxDelayMs?: number;
}

/**
 * openNats, tried again with growing waits while no NATS server answers (a service started before
 * NATS, as compose and k8s do): each failed attempt is logged with the next wait and the deadline.
 * Settings the server refuses (InputError) fail at once: waiting will not fix them.
 */
export async function waitForNats(loaded: LoadedConfig, logger: Logger, name: string, options: WaitForNatsOptions): Promise<NatsParts> {
  const { clock, waitMs, signal } = options;
  const deadline = clock.now() + waitMs;
  const maxDelayMs = options.maxDelayMs ?? 10_000;
  for (let attempt = 1, delay = options.minDelayMs ?? 500; ; attempt++, delay = Math.min(delay * 2, maxDelayMs)) {
    try {
      return await openNats(loaded, logger, name);
    } catch (error) {
      if (!(error instanceof StoreError && error.code === 'unavailable') || signal?.aborted) throw error;
      const left = deadline - clock.now();
      if (left <= 0) throw error;
      const wait = Math.min(delay, left);
      logger.warn(
        { attempt, retryInMs: wait, giveUpInMs: left },
        `waiting for NATS: ${error.message}; trying again in ${Math.ceil(wait / 100) / 10} s (attempt ${attempt}, giving up in ${Math.ceil(left / 1000)} s)`,
      );
      try {
        await clock.sleep(wait, signal);
      } catch {
        throw error;
      }
    }
  }
}
