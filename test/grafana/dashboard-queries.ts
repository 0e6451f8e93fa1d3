import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dashboardsDir = fileURLToPath(new URL('../../grafana/dashboards/', import.meta.url));

export interface PanelQuery {
  readonly dashboard: string;
  readonly panel: string;
  readonly refId: string;
  readonly expr: string;
}

export interface PanelJson {
  readonly id?: number;
  readonly title?: string;
  readonly type?: string;
  readonly gridPos: { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
  readonly targets?: readonly { readonly refId?: string; readonly expr?: string; readonly datasource?: { readonly uid?: string } }[];
  readonly panels?: readonly PanelJson[];
}

export interface DashboardJson {
  readonly __inputs?: readonly { readonly name: string; readonly type: string; readonly pluginId: string }[];
  readonly templating?: { readonly list: readonly { readonly name: string; readonly type: string; readonly query?: unknown; readonly allValue?: string }[] };
  readonly uid: string;
  readonly title: string;
  readonly panels: readonly PanelJson[];
}

export function dashboardFiles(): string[] {
  return readdirSync(dashboardsDir)
    .filter((f) => f.endsWith('.json'))
    .sort();
}

export function readDashboard(file: string): DashboardJson {
  return JSON.parse(readFileSync(join(dashboardsDir, file), 'utf8')) as DashboardJson;
}

/** Every panel of a dashboard, the panels of collapsed rows included. */
export function panelsOf(dashboard: DashboardJson): PanelJson[] {
  return dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

/** Every PromQL expression of every panel of every dashboard. */
export function allPanelQueries(): PanelQuery[] {
  return dashboardFiles().flatMap((file) => {
    const dashboard = readDashboard(file);
    return panelsOf(dashboard).flatMap((panel) =>
      (panel.targets ?? []).map((t) => ({ dashboard: dashboard.title, panel: panel.title ?? '', refId: t.refId ?? '', expr: t.expr ?? '' })),
    );
  });
}

/**
 * Grafana's built-in variables, as Grafana would fill them for a short range: the test's
 * Prometheus holds under a minute of 1 s scrapes.
 */
const builtins: Readonly<Record<string, string>> = { __rate_interval: '15s', __interval: '5s', __range: '1h' };

/** The dashboards' own template variables, each at "All" (its allValue). */
export const templateVariables = ['instance', 'model', 'role', 'area', 'repo'] as const;

export function substituteVariables(expr: string): string {
  return expr
    .replace(/\$\{?(__[a-z_]+)\}?/g, (whole, name: string) => builtins[name] ?? whole)
    .replace(/\$\{?([a-z]+)\}?/g, (whole, name: string) => ((templateVariables as readonly string[]).includes(name) ? '.*' : whole));
}
