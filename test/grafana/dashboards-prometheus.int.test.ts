import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindMetrics } from '../../src/telemetry/bind-metrics.js';
import { observeGate } from '../../src/telemetry/gate-metrics.js';
import type { QualityGate } from '../../src/model/gate-report.js';
import { createMetrics } from '../../src/telemetry/metrics.js';
import { startMetricsServer, type MetricsServer } from '../../src/telemetry/metrics-server.js';
import { taskFactsFromStore } from '../../src/telemetry/task-facts.js';
import { openDemo, type DemoRun } from '../telemetry/demo-harness.js';
import { allPanelQueries, substituteVariables, type PanelQuery } from './dashboard-queries.js';
import { startPrometheus, type Prometheus, type QueryResult } from './prometheus.js';

interface Evaluated {
  readonly query: PanelQuery;
  readonly result: QueryResult;
}

/**
 * The demo's command gate runs `node --test` without a coverage reporter or a test-name parser; the
 * ratchet gate reports both. They are added here as the ratchet reports them (the failing tests'
 * names from the TAP output, a fixed line coverage) so the coverage and failing-test panels have data.
 */
function asRatchet(gate: QualityGate): QualityGate {
  return {
    async run(input) {
      const report = await gate.run(input);
      const checks = report.checks.map((c) => {
        // TAP (`not ok 3 - adds`) or the spec reporter (`✖ adds (1.2ms)`).
        const names = [...c.excerpt.matchAll(/^\s*(?:not ok \d+ - (.+)|✖ (.+?) \(\d[\d.]*m?s\))$/gm)]
          .map((m) => m[1] ?? m[2] ?? '')
          .filter((n) => n !== '' && !n.endsWith('.js') && !n.startsWith('failing tests'));
        // The excerpt is the output's tail, which may not reach the failing test's line.
        const failed = names.length > 0 ? names : [`a test of ${c.name}`];
        const regressions = c.passed ? c.regressions : [{ type: 'tests_failed' as const, check: c.name, count: failed.length, items: failed }];
        return { ...c, metrics: { ...c.metrics, coverage_lines_pct: 87.5 }, ...(regressions ? { regressions } : {}) };
      });
      return { ...report, checks };
    },
  };
}

const seriesCount = (r: QueryResult): number => (r.status === 'success' ? (r.data?.result.length ?? 0) : 0);

/** The value of the series whose labels match (the only one when no labels are given), as a number. */
function valueOf(result: QueryResult | undefined, labels: Record<string, string> = {}): number {
  const match = (result?.data?.result ?? []).find((s) => Object.entries(labels).every(([k, v]) => s.metric[k] === v));
  return Number(match?.value?.[1] ?? NaN);
}

function panelValue(results: readonly Evaluated[], title: string, labels: Record<string, string> = {}): number {
  const found = results.find((e) => e.query.panel === title);
  if (!found) throw new Error(`no panel titled ${title}`);
  return valueOf(found.result, labels);
}

/**
 * The dashboards are checked against data, not just syntax: a real Prometheus scrapes /metrics
 * of a process that runs the demo tasks, and every panel's expression must be valid PromQL and
 * return at least one series.
 */
describe('Grafana dashboards against a real Prometheus scraping a demo run', () => {
  let demo: DemoRun | undefined;
  let server: MetricsServer | undefined;
  let prometheus: Prometheus | undefined;
  let evaluated: Evaluated[] = [];
  const queries = allPanelQueries();

  beforeAll(async () => {
    const metrics = createMetrics({ processMetrics: true });
    demo = await openDemo({ wrapGate: (gate) => observeGate(asRatchet(gate), metrics) });
    bindMetrics(demo.bus, metrics, { facts: taskFactsFromStore(demo.store) });
    server = await startMetricsServer({ registry: metrics.registry, address: { host: '127.0.0.1', port: 0 } });
    prometheus = await startPrometheus(`127.0.0.1:${server.port}`);
    // The zeros must be scraped before the run: increase() cannot see a jump it has no "before" for.
    await prometheus.firstScrape();
    const outcomes = await demo.run();
    expect(outcomes.map((o) => `${o.id}:${o.state}`).sort(), outcomes.map((o) => o.reason ?? '').join('\n')).toEqual([
      'DEMO-1:DONE',
      'DEMO-2:DONE',
      'DEMO-3:DONE',
    ]);

    // Prometheus needs two scrapes of the final values before increase() and rate() see them.
    const p = prometheus;
    const evaluateAll = async (): Promise<Evaluated[]> =>
      Promise.all(queries.map(async (query) => ({ query, result: await p.query(substituteVariables(query.expr)) })));
    const deadline = Date.now() + 45_000;
    for (;;) {
      const settled = valueOf(await p.query('sum(orchestrator_task_duration_seconds_count)')) === 3;
      evaluated = await evaluateAll();
      if ((settled && evaluated.every((e) => seriesCount(e.result) > 0)) || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    // Two more scrapes so that the last values are in every window.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    evaluated = await evaluateAll();
  }, 90_000);

  afterAll(async () => {
    await prometheus?.stop();
    await server?.close();
    await demo?.close();
  });

  it('has queries in every dashboard', () => {
    expect(new Set(queries.map((q) => q.dashboard))).toEqual(
      new Set(['tandem / Overview', 'tandem / Quality', 'tandem / Model Performance', 'tandem / Task Flow']),
    );
    expect(queries.length).toBeGreaterThanOrEqual(30);
    for (const q of queries) expect(substituteVariables(q.expr), `${q.dashboard} / ${q.panel}`).not.toMatch(/\$/);
  });

  it('evaluates every panel expression without error and gets at least one series back', () => {
    const failures = evaluated
      .filter((e) => e.result.status !== 'success' || seriesCount(e.result) === 0)
      .map(
        (e) =>
          `${e.query.dashboard} / ${e.query.panel} [${e.query.refId}]: ${e.result.status === 'success' ? 'no series' : (e.result.error ?? 'error')}\n    ${e.query.expr}`,
      );
    expect(failures, `${failures.join('\n')}\n${prometheus?.output() ?? ''}`).toEqual([]);
    expect(evaluated).toHaveLength(queries.length);
  });

  it('scraped exactly what the demo did: three tasks done, six gate runs with one failing test, three task areas routed', async () => {
    const p = prometheus;
    if (!p) throw new Error('prometheus did not start');
    const byLabel = async (expr: string, label: string): Promise<Record<string, number>> => {
      const result = await p.query(expr);
      return Object.fromEntries((result.data?.result ?? []).map((s) => [s.metric[label] ?? '', Number(s.value?.[1])]));
    };
    expect(await byLabel('sum by (status) (orchestrator_task_duration_seconds_count)', 'status')).toEqual({ DONE: 3, FAILED: 0, ABORTED: 0 });
    // DEMO-1 and DEMO-2 have two steps each, DEMO-3 one whose first gate run fails a test.
    expect(await byLabel('sum by (status) (orchestrator_quality_gate_runs_total)', 'status')).toEqual({ passed: 5, failed: 1 });
    expect(await byLabel('sum by (type) (orchestrator_quality_regressions_total) > 0', 'type')).toEqual({ tests_failed: 1 });
    expect(await byLabel('sum by (check) (orchestrator_quality_check_failures_total)', 'check')).toEqual({ test: 1 });
    expect(Object.keys(await byLabel('sum by (task_area) (orchestrator_model_routing)', 'task_area')).sort()).toEqual(['core', 'general', 'math']);
  });

  it('shows the demo on the panels: tasks done, the pass rate, the failing check, the retry and nothing in flight', () => {
    expect(panelValue(evaluated, 'Tasks finished today, by status', { status: 'DONE' })).toBeGreaterThan(2.5);
    expect(panelValue(evaluated, 'Tasks in flight')).toBe(0);
    expect(panelValue(evaluated, 'Quality gate pass rate')).toBeCloseTo(5 / 6, 2);
    expect(panelValue(evaluated, 'Regressions by type', { type: 'tests_failed' })).toBeGreaterThan(0.5);
    expect(panelValue(evaluated, 'Regressions by type', { type: 'coverage_drop' })).toBe(0);
    expect(panelValue(evaluated, 'New warnings (should be zero)')).toBe(0);
    expect(panelValue(evaluated, 'Top failing checks', { check: 'test' })).toBeGreaterThan(0.5);
    expect(panelValue(evaluated, 'Work sent back (retries) by stage', { type: 'quality_gate' })).toBeGreaterThan(0.5);
    expect(panelValue(evaluated, 'In-flight tasks by state', { state: 'IMPLEMENTING' })).toBe(0);
    expect(panelValue(evaluated, 'Time spent per state', { state: 'QUALITY_GATE' })).toBeGreaterThan(0);
    for (const area of ['general', 'core', 'math']) expect(panelValue(evaluated, 'Routing decisions', { task_area: area }), area).toBeGreaterThan(0.5);
    expect(panelValue(evaluated, 'Coverage trend, by repository')).toBe(87.5);
    expect(evaluated.find((e) => e.query.panel === 'Top failing tests')?.result.data?.result.length).toBeGreaterThan(0);
    for (const risk of ['low', 'medium']) expect(panelValue(evaluated, 'Spend by task risk and area', { task_risk: risk }), risk).toBeGreaterThanOrEqual(0);
  });
});
