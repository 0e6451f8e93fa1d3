import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { ErrorKindSchema, RoleSchema, type ExecutionResult, type Role } from '../model/execution.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../platform/clock.js';
import { StoreError } from '../platform/errors.js';
import { AreaSchema, RiskSchema, type Area, type Risk } from '../model/task-spec.js';
import { startOfUtcDay, startOfUtcMonth } from './budget.js';
import { fromNanos, toNanos, type ModelRegistry } from './model-registry.js';

/**
 * The cost ledger (DESIGN §6): one durable entry per runner call, written through the Store port
 * under `ledger.<task>.<id>`. Dollars are kept rounded to nano-dollars and summed as integers, so
 * every report adds up exactly to the entries. Figures from estimated token counts say so.
 */

const UsdSourceSchema = z.enum(['reported', 'registry', 'runner', 'unpriced']);

const LedgerEntrySchema = z.object({
  version: z.literal(1),
  id: z.string(),
  at: z.number(),
  task_id: z.string(),
  step_id: z.string().optional(),
  role: RoleSchema,
  attempt: z.number().int().nonnegative(),
  try: z.number().int().nonnegative(),
  /** The registry name the call was routed to; absent for a pinned model outside the registry. */
  model_name: z.string().optional(),
  provider: z.string(),
  model: z.string(),
  runner: z.string(),
  /** The risk class and area the call was routed by. */
  risk: RiskSchema.optional(),
  area: AreaSchema.optional(),
  tokens_input: z.number().int().nonnegative(),
  tokens_output: z.number().int().nonnegative(),
  /** The runner reported no token counts: tokens, and any dollars derived from them, are estimates. */
  estimated: z.boolean(),
  usd: z.number().nonnegative(),
  /** reported: the CLI's own figure; registry: tokens × the config's price; runner: the runner's figure; unpriced: no price known. */
  usd_source: UsdSourceSchema,
  /** The CLI's own cost figure, when it reported one (reconciled with `list_usd`). */
  reported_usd: z.number().nonnegative().optional(),
  /** Tokens × the registry's list price, when the model is in the registry. */
  list_usd: z.number().nonnegative().optional(),
  latency_ms: z.number().nonnegative(),
  outcome: z.union([z.literal('ok'), ErrorKindSchema]),
});
export type LedgerEntry = z.infer<typeof LedgerEntrySchema>;

const LEDGER_PREFIX = 'ledger';

interface CallRecord {
  readonly taskId: string;
  readonly stepId?: string | undefined;
  readonly role: Role;
  readonly attempt: number;
  readonly try: number;
  readonly modelName?: string | undefined;
  readonly risk?: Risk | undefined;
  readonly area?: Area | undefined;
  readonly result: ExecutionResult;
}

/**
 * The in-memory side of the ledger answers budget questions only: sums per task, per UTC day and
 * per UTC month, each updated in O(1) per call and read in O(1). It keeps no entries (the store
 * does; `readLedger` reads them for reports), so its memory does not grow with every call.
 */
export interface CostLedger {
  /** Reads the stored entries once; every other method needs it done. */
  load(): Promise<void>;
  /** Counts the call at once (budgets see it immediately); `stored` settles when it is durable. */
  record(call: CallRecord): { readonly entry: LedgerEntry; readonly stored: Promise<void> };
  spentByTask(taskId: string): number;
  /**
   * Spend from the start of the UTC day holding `at` until now: sums are kept per UTC day, so a
   * time within a day counts that whole day.
   */
  spentSince(at: number): number;
  /**
   * Spend of the task, the current UTC day and the current UTC month, with the estimates of calls
   * still in flight (reserved) counted in, so parallel tasks cannot all pass a budget at once.
   */
  spend(taskId: string): { task: number; day: number; month: number };
  /** Holds `usd` against the task's, the day's and the month's budgets until released (the call ended and was recorded). */
  reserve(taskId: string, usd: number): { release(): void };
  /**
   * With a store other processes write to (distributed mode), counts the calls they recorded since
   * the last look, at most every `syncIntervalMs`; without one, there is nothing to learn.
   */
  sync(): Promise<void>;
}

/** What a call cost and where the figure comes from (see UsdSourceSchema). */
export function priceCall(
  result: ExecutionResult,
  modelName: string | undefined,
  registry: ModelRegistry,
): Pick<LedgerEntry, 'usd' | 'usd_source' | 'reported_usd' | 'list_usd'> {
  const registered = modelName !== undefined && registry.get(modelName) !== undefined;
  const list = registered ? registry.cost(modelName, result.tokens_input, result.tokens_output) : undefined;
  const own = fromNanos(toNanos(result.cost_usd));
  const withList = list === undefined ? {} : { list_usd: list };
  if (result.cost_source === 'reported') return { usd: own, usd_source: 'reported', reported_usd: own, ...withList };
  // The config's price wins over a runner's built-in table: prices change, and the config is what the user maintains.
  if (list !== undefined && (result.cost_source === 'price_table' || result.cost_source === 'unpriced'))
    return { usd: list, usd_source: 'registry', ...withList };
  if (result.cost_source === 'unpriced') return { usd: 0, usd_source: 'unpriced' };
  return { usd: own, usd_source: 'runner', ...withList };
}

let sequence = 0;

/**
 * Six random hex digits per entry, so that ids of two processes writing one ledger (NATS) do not
 * collide. `randomUUID` draws from a cached pool of random bytes; `randomBytes(3)` would make a
 * system call for every entry. Its first eight digits are all random (the version digit is the 13th).
 */
function randomSuffix(): string {
  return randomUUID().slice(0, 6);
}

function entryId(at: number): string {
  return `${Math.max(0, at).toString(36).padStart(10, '0')}-${(sequence++).toString(36).padStart(5, '0')}-${randomSuffix()}`;
}

function ledgerKey(entry: Pick<LedgerEntry, 'task_id' | 'id'>): string {
  return `${LEDGER_PREFIX}.${entry.task_id}.${entry.id}`;
}

/** Every stored entry, oldest first; a corrupt entry is an error that names its key. */
export async function readLedger(store: Store): Promise<LedgerEntry[]> {
  const stored = await store.list(LEDGER_PREFIX);
  const entries = stored.map((s) => {
    const parsed = LedgerEntrySchema.safeParse(s.value);
    if (!parsed.success) throw new StoreError('corrupt', `the ledger entry ${s.key} is invalid: ${parsed.error.issues[0]?.message ?? ''}`);
    return parsed.data;
  });
  return entries.sort((a, b) => a.at - b.at || a.id.localeCompare(b.id));
}

export interface CostLedgerOptions {
  readonly store: Store;
  readonly registry: ModelRegistry;
  readonly clock: Clock;
  /**
   * Other processes record calls in the same store (role services and supervisors over NATS): their
   * spend counts against the budgets too, read back by `sync()`.
   */
  readonly shared?: { readonly syncIntervalMs: number } | undefined;
}

export function createCostLedger(options: CostLedgerOptions): CostLedger {
  const { store, registry, clock, shared } = options;
  /** Nano-dollars per task, per UTC day (keyed by its start) and per UTC month (keyed by its start). */
  const byTask = new Map<string, number>();
  // Grows by one entry per UTC day with any spend (365 numbers a year), so a service that runs for
  // years holds a few KB here; `spentSince` scans it, which is why its granularity is a whole day.
  const byDay = new Map<number, number>();
  const byMonth = new Map<number, number>();
  /** Estimates of calls in flight, in nano-dollars, per task and in all. */
  const reservedByTask = new Map<string, number>();
  let reservedNanos = 0;
  /** Ids of calls recorded before load() finished, which the stored entries may include again. */
  let early: Set<string> | undefined = new Set();
  let loading: Promise<void> | undefined;
  let loaded = false;
  /** Shared store only: every entry counted so far, so a sync counts each other process's call once. */
  const seen = shared ? new Set<string>() : undefined;
  let syncedAt = Number.NEGATIVE_INFINITY;
  let syncing: Promise<void> | undefined;

  const add = <K>(sums: Map<K, number>, key: K, nanos: number): void => {
    sums.set(key, (sums.get(key) ?? 0) + nanos);
  };
  const count = (entry: Pick<LedgerEntry, 'task_id' | 'at' | 'usd'>): void => {
    const nanos = toNanos(entry.usd);
    add(byTask, entry.task_id, nanos);
    add(byDay, startOfUtcDay(entry.at), nanos);
    add(byMonth, startOfUtcMonth(entry.at), nanos);
  };
  const sinceNanos = (at: number): number => {
    const from = startOfUtcDay(at);
    let sum = 0;
    for (const [day, nanos] of byDay) if (day >= from) sum += nanos;
    return sum;
  };
  const assertLoaded = (): void => {
    if (!loaded) throw new Error('the cost ledger was used before load() finished');
  };

  return {
    load() {
      loading ??= readLedger(store).then((entries) => {
        // Calls recorded while loading are already counted; the stored ones may include them.
        const counted = early ?? new Set<string>();
        for (const entry of entries) {
          if (!counted.has(entry.id)) count(entry);
          seen?.add(entry.id);
        }
        for (const id of counted) seen?.add(id);
        early = undefined;
        loaded = true;
        syncedAt = clock.now();
      });
      return loading;
    },
    record(call) {
      const { result } = call;
      const at = clock.now();
      const entry: LedgerEntry = {
        version: 1,
        id: entryId(at),
        at,
        task_id: call.taskId,
        ...(call.stepId === undefined ? {} : { step_id: call.stepId }),
        role: call.role,
        attempt: call.attempt,
        try: call.try,
        ...(call.modelName === undefined ? {} : { model_name: call.modelName }),
        provider: result.provider,
        model: result.model,
        runner: result.runner,
        ...(call.risk === undefined ? {} : { risk: call.risk }),
        ...(call.area === undefined ? {} : { area: call.area }),
        tokens_input: result.tokens_input,
        tokens_output: result.tokens_output,
        estimated: result.tokens_estimated,
        ...priceCall(result, call.modelName, registry),
        latency_ms: result.latency_ms,
        outcome: result.success ? 'ok' : (result.error_kind ?? 'crashed'),
      };
      count(entry);
      early?.add(entry.id);
      seen?.add(entry.id);
      const stored = store.put(ledgerKey(entry), entry, { expectedRevision: 0 }).then(() => undefined);
      return { entry, stored };
    },
    spentByTask(taskId) {
      assertLoaded();
      return fromNanos(byTask.get(taskId) ?? 0);
    },
    spentSince(at) {
      assertLoaded();
      return fromNanos(sinceNanos(at));
    },
    spend(taskId) {
      assertLoaded();
      const now = clock.now();
      const task = (byTask.get(taskId) ?? 0) + (reservedByTask.get(taskId) ?? 0);
      return {
        task: fromNanos(task),
        day: fromNanos((byDay.get(startOfUtcDay(now)) ?? 0) + reservedNanos),
        month: fromNanos((byMonth.get(startOfUtcMonth(now)) ?? 0) + reservedNanos),
      };
    },
    async sync() {
      if (!seen || !shared || !loaded) return;
      if (clock.now() - syncedAt < shared.syncIntervalMs) return;
      // One look at a time; callers that arrive meanwhile wait for it rather than start another.
      syncing ??= readLedger(store)
        .then((entries) => {
          for (const entry of entries) {
            if (seen.has(entry.id)) continue;
            seen.add(entry.id);
            count(entry);
          }
          syncedAt = clock.now();
        })
        .finally(() => (syncing = undefined));
      await syncing;
    },
    reserve(taskId, usd) {
      const nanos = Math.max(0, toNanos(usd));
      add(reservedByTask, taskId, nanos);
      reservedNanos += nanos;
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          const left = (reservedByTask.get(taskId) ?? 0) - nanos;
          if (left > 0) reservedByTask.set(taskId, left);
          else reservedByTask.delete(taskId);
          reservedNanos -= nanos;
        },
      };
    },
  };
}
