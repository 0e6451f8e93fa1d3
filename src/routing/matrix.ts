import { AreaSchema, RiskSchema, type Area, type Risk } from '../model/task-spec.js';
import {
  defaultMatrix,
  routedRoles,
  seed002Matrix,
  type RoutingPreset,
  type MatrixCell,
  type MatrixRiskRow,
  type MatrixRole,
  type RoutedRole,
  type RoutingMatrix,
} from './config-schema.js';

const risks: readonly Risk[] = RiskSchema.options;
const areas: readonly Area[] = AreaSchema.options;

export type FullMatrix = Readonly<Record<RoutedRole, MatrixRole>>;

/** The user's rows replace the preset's role by role, so a config can change only the implementer. */
export function mergeMatrix(user: RoutingMatrix | undefined, preset: RoutingPreset = 'default'): FullMatrix {
  const merged = { ...(preset === 'seed002' ? seed002Matrix : defaultMatrix) };
  for (const role of routedRoles) {
    const row = user?.[role];
    if (row) merged[role] = row;
  }
  return merged;
}

export interface ResolvedCell {
  readonly role: RoutedRole;
  readonly risk: Risk;
  readonly area: Area;
  /** Where the answer came from, e.g. `planner.high.any`: what `route --explain` shows. */
  readonly path: string;
  readonly models: readonly string[];
}

function cellModels(cell: MatrixCell): string[] {
  return typeof cell === 'string' ? [cell] : [...cell];
}

/** The most specific cell: exact risk and area, then `any` area, then `any` risk. */
export function resolveCell(matrix: FullMatrix, role: RoutedRole, risk: Risk, area: Area): ResolvedCell | undefined {
  const found = resolveInRow(matrix[role], risk, area);
  return found ? { role, risk, area, path: `${role}.${found.path}`, models: found.models } : undefined;
}

function resolveInRow(row: MatrixRole, risk: Risk, area: Area): { path: string; models: string[] } | undefined {
  const attempts: readonly [keyof MatrixRole, keyof MatrixRiskRow][] = [
    [risk, area],
    [risk, 'any'],
    ['any', area],
    ['any', 'any'],
  ];
  for (const [riskKey, areaKey] of attempts) {
    const cell = row[riskKey]?.[areaKey];
    if (cell !== undefined && cellModels(cell).length > 0) return { path: `${riskKey}.${areaKey}`, models: cellModels(cell) };
  }
  return undefined;
}

/** Every model a role's row names, in order of first appearance: the models deemed fit for the role. */
export function rowModels(row: MatrixRole): string[] {
  const names: string[] = [];
  for (const riskRow of Object.values(row)) {
    for (const cell of Object.values(riskRow ?? {})) {
      if (cell === undefined) continue;
      for (const name of cellModels(cell)) if (!names.includes(name)) names.push(name);
    }
  }
  return names;
}

/** (risk, area) pairs a role's row leaves without a model. */
export function uncoveredCells(row: MatrixRole): { risk: Risk; area: Area }[] {
  const holes: { risk: Risk; area: Area }[] = [];
  for (const risk of risks) for (const area of areas) if (!resolveInRow(row, risk, area)) holes.push({ risk, area });
  return holes;
}
