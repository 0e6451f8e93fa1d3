import { createNatsBus } from '../../src/bus/nats-bus.js';
import { connectNats, type NatsConnection } from '../../src/bus/nats-connection.js';
import { openKvStore } from '../../src/store/kv-store.js';
import type { Bus } from '../../src/bus/bus.js';
import type { TaskEvent } from '../../src/model/task-events.js';
import type { Store } from '../../src/store/store.js';
import { subject } from '../../src/bus/subjects.js';
import { STATE_BUCKET } from '../../src/distributed/open-nats.js';
import { TASKS_PREFIX, TaskRecordSchema, type TaskRecord } from '../../src/model/task-record.js';
import { startTandem, waitFor, type TandemProcess } from './tandem-process.js';

/**
 * `tandem serve` processes against a test's own nats-server, and an observer in the test process
 * that sees what they publish and store (the same bus and KV bucket they use).
 */

export interface ServiceSetup {
  readonly natsUrl: string;
  /** Shared by every process, as a shared volume would be (worktrees, logs, gate baselines). */
  readonly stateDir: string;
  readonly script: string;
  readonly config: string;
  readonly cwd: string;
  /** Extra environment of every service (e.g. OTEL_* settings). */
  readonly env?: Record<string, string>;
}

export interface Service extends TandemProcess {
  readonly name: string;
}

/** Starts `tandem serve <services…>` and waits until it says it is ready (unless `ready: false`: NATS may be down). */
export async function startService(
  setup: ServiceSetup,
  name: string,
  services: readonly string[],
  extra: readonly string[] = [],
  options: { readonly ready?: boolean; readonly env?: Record<string, string> } = {},
): Promise<Service> {
  const args = [
    'serve',
    ...services,
    '--nats',
    setup.natsUrl,
    '--runner',
    'scripted',
    '--script',
    setup.script,
    '--config',
    setup.config,
    '--state-dir',
    setup.stateDir,
  ];
  args.push('--id', name, '--lease-ms', '1500', '--hand-back-ms', '2000', '--log-level', 'info', ...extra);
  const proc = startTandem(args, { cwd: setup.cwd, env: { ...setup.env, ...options.env } });
  if (options.ready === false) return Object.assign(proc, { name });
  await waitFor(
    `${name} to be ready (output: ${proc.output().slice(-2000)})`,
    () => Promise.resolve(proc.output().includes(' ready on ') ? true : proc.child.exitCode !== null ? false : undefined),
    20_000,
  ).then((ok) => {
    if (!ok) throw new Error(`${name} exited before it was ready:\n${proc.output()}`);
  });
  return Object.assign(proc, { name });
}

export interface Observer {
  readonly events: TaskEvent[];
  readonly store: Store;
  readonly bus: Bus;
  records(): Promise<TaskRecord[]>;
  /** Waits until every listed task is in one of `states`. */
  settled(ids: readonly string[], timeoutMs: number, states?: ReadonlySet<string>): Promise<TaskRecord[]>;
  close(): Promise<void>;
}

export async function observe(natsUrl: string): Promise<Observer> {
  const connection: NatsConnection = await connectNats({
    servers: [natsUrl],
    name: 'test observer',
    reconnect: { min_delay_ms: 50, max_delay_ms: 200, max_attempts: -1 },
  });
  const store = await openKvStore({ connection, bucket: STATE_BUCKET });
  const bus = createNatsBus({ connection, onInvalid: () => undefined });
  const events: TaskEvent[] = [];
  const sub = bus.subscribe(subject({ kind: 'events.all' }), (message) => {
    if ('taskId' in message && /^(task|step|gate|role)\./.test(message.type)) events.push(message as TaskEvent);
  });
  const records = async (): Promise<TaskRecord[]> => {
    try {
      return (await store.list(TASKS_PREFIX)).map((e) => TaskRecordSchema.parse(e.value));
    } catch {
      return [];
    }
  };
  return {
    events,
    store,
    bus,
    records,
    async settled(ids, timeoutMs, states = new Set(['DONE', 'FAILED', 'ABORTED', 'AWAITING_HUMAN_REVIEW'])) {
      return waitFor(
        `tasks ${ids.join(', ')} to settle`,
        async () => {
          const all = await records();
          const mine = all.filter((r) => ids.includes(r.id));
          return mine.length === ids.length && mine.every((r) => states.has(r.state)) ? mine.sort((a, b) => a.id.localeCompare(b.id)) : undefined;
        },
        timeoutMs,
      ).catch(async (error: unknown) => {
        const all = await records();
        throw new Error(
          `${String(error)}; states: ${all.map((r) => `${r.id}=${r.state}${r.waiting ? ` (${r.waiting.reason})` : ''}${r.failure === undefined ? '' : ` (${r.failure})`}`).join(', ')}`,
        );
      });
    },
    async close() {
      sub.unsubscribe();
      await bus.close();
      await store.close();
      await connection.close();
    },
  };
}

/** Successful role calls per (task, step, role, attempt): more than one means a call was paid twice. */
export function paidTwice(events: readonly TaskEvent[]): string[] {
  const seen = new Map<string, number>();
  for (const event of events) {
    if (event.type !== 'role.finished' || !event.success || event.replayed === true) continue;
    const key = `${event.taskId}/${event.stepId ?? 'plan'}/${event.role}/${event.attempt}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  return [...seen].filter(([, n]) => n > 1).map(([key, n]) => `${key} ×${n}`);
}
