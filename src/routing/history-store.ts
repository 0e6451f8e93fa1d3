import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Store } from '../store/store.js';
import { StoreError } from '../platform/errors.js';
import { AreaSchema, RiskSchema, type Area, type Risk } from '../model/task-spec.js';
import { RoutedRoleSchema, type RoutedRole } from './config-schema.js';

/**
 * Step outcomes (DESIGN §6 "History"; seed 002 Phase 3): which model did which kind of work, and
 * how it went. Stored under `history.<id>` through the Store port; kept in memory per cell and
 * model, the most recent `window` of each, for the learning policy.
 */

const StepOutcomeSchema = z.object({
  version: z.literal(1),
  id: z.string(),
  at: z.number(),
  task_id: z.string(),
  step_id: z.string().optional(),
  role: RoutedRoleSchema,
  /** Registry name of the model that did the work. */
  model_name: z.string(),
  area: AreaSchema,
  /** The risk class the work was routed with. */
  risk: RiskSchema,
  /** The plan step's type, or `plan` for a planner's work. */
  step_type: z.string(),
  /** Implementer: the gate passed on the first attempt. Planner: the plan was approved without revision. */
  success: z.boolean(),
  attempts: z.number().int().min(1),
  cost_usd: z.number().nonnegative(),
  duration_ms: z.number().nonnegative(),
});
export type StepOutcome = z.infer<typeof StepOutcomeSchema>;

const HISTORY_PREFIX = 'history';

interface CellKey {
  readonly role: RoutedRole;
  readonly area: Area;
  readonly risk: Risk;
  readonly stepType: string;
}

function cellId(cell: CellKey): string {
  return `${cell.role}|${cell.area}|${cell.risk}|${cell.stepType}`;
}

export interface HistoryStore {
  load(): Promise<void>;
  /** Counts the outcome at once; the promise settles when it is durable. */
  record(outcome: Omit<StepOutcome, 'version' | 'id'>): Promise<void>;
  /** Recent outcomes of a cell, by model name. */
  cell(cell: CellKey): ReadonlyMap<string, readonly StepOutcome[]>;
  size(): number;
}

let sequence = 0;

export async function readHistory(store: Store): Promise<StepOutcome[]> {
  const stored = await store.list(HISTORY_PREFIX);
  return stored
    .map((s) => {
      const parsed = StepOutcomeSchema.safeParse(s.value);
      if (!parsed.success) throw new StoreError('corrupt', `the history entry ${s.key} is invalid: ${parsed.error.issues[0]?.message ?? ''}`);
      return parsed.data;
    })
    .sort((a, b) => a.at - b.at || a.id.localeCompare(b.id));
}

/** `store` undefined keeps the history in memory only (tests, simulations). */
export function createHistoryStore(options: { store?: Store | undefined; window: number }): HistoryStore {
  const cells = new Map<string, Map<string, StepOutcome[]>>();
  let total = 0;
  let loading: Promise<void> | undefined;
  const add = (outcome: StepOutcome): void => {
    const id = cellId({ role: outcome.role, area: outcome.area, risk: outcome.risk, stepType: outcome.step_type });
    let byModel = cells.get(id);
    if (!byModel) cells.set(id, (byModel = new Map<string, StepOutcome[]>()));
    let list = byModel.get(outcome.model_name);
    if (!list) byModel.set(outcome.model_name, (list = []));
    list.push(outcome);
    if (list.length > options.window) list.splice(0, list.length - options.window);
    total++;
  };
  return {
    load() {
      loading ??= options.store ? readHistory(options.store).then((outcomes) => outcomes.forEach(add)) : Promise.resolve();
      return loading;
    },
    async record(input) {
      const outcome: StepOutcome = {
        version: 1,
        id: `${Math.max(0, input.at).toString(36).padStart(10, '0')}-${(sequence++).toString(36).padStart(5, '0')}-${randomBytes(3).toString('hex')}`,
        ...input,
      };
      add(outcome);
      if (options.store) await options.store.put(`${HISTORY_PREFIX}.${outcome.id}`, outcome, { expectedRevision: 0 });
    },
    cell: (cell) => cells.get(cellId(cell)) ?? new Map<string, StepOutcome[]>(),
    size: () => total,
  };
}
