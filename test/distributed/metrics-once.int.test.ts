import { cp, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { startTandem, stopAllTandems, waitFor } from '../helpers/tandem-process.js';
import { observe, startService, type Observer, type Service, type ServiceSetup } from '../helpers/tandem-services.js';

/**
 * Two `tandem serve supervisor` processes on one NATS bus both see every event. Their /metrics,
 * summed as a dashboard sums them, must say what really happened: each event counted once.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
const demoTasks = join(root, 'examples', 'demo', 'tasks.yaml');
const demoScript = join(root, 'examples', 'demo', 'script.yaml');
const execFileAsync = promisify(execFile);

/** Sums the samples of `name` whose labels include `labels`, in Prometheus text format. */
function sum(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have: Record<string, string | undefined> = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1] ?? '', m[2] ?? '']),
    );
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) total += Number(match[3]);
  }
  return total;
}

describe('metrics with two supervisors', () => {
  let nats: NatsServer;
  let work: string;
  let observer: Observer | undefined;
  const services: Service[] = [];

  beforeEach(async () => {
    nats = await startNatsServer();
    work = await realpath(await mkdtemp(join(tmpdir(), 'tandem-metrics-')));
  });

  afterEach(async () => {
    for (const service of services.splice(0)) {
      service.stop();
      await service.exited;
    }
    stopAllTandems();
    await observer?.close();
    observer = undefined;
    await nats.cleanup();
    await rm(work, { recursive: true, force: true });
  });

  it('counts every task event once across both supervisors', { timeout: 120_000 }, async () => {
    const repo = join(work, 'repo');
    await cp(join(root, 'examples', 'demo-repo'), repo, { recursive: true });
    const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };
    for (const args of [
      ['init', '-q', '-b', 'main'],
      ['add', '-A'],
      ['commit', '-q', '-m', 'initial'],
    ])
      await execFileAsync('git', args, { cwd: repo, env });
    // One task at a time per supervisor, so both hold tasks and each counts its own.
    await writeFile(join(work, 'tandem.config.yaml'), 'concurrency: 1\n');
    const setup: ServiceSetup = { natsUrl: nats.url, stateDir: join(work, 'state'), script: demoScript, config: join(work, 'tandem.config.yaml'), cwd: work };
    const roles = ['planner', 'plan-reviewer', 'implementer', 'code-reviewer', 'quality-gate'];
    const metricsPort = ['--metrics-port', '127.0.0.1:0'];
    for (const [name, kinds, extra] of [
      ['sup-a', ['supervisor'], metricsPort],
      ['sup-b', ['supervisor'], metricsPort],
      ['roles', roles, []],
    ] as const) {
      services.push(await startService(setup, name, kinds, extra));
    }
    observer = await observe(nats.url);
    const submit = startTandem(['submit', demoTasks, '--repo', repo, '--nats', nats.url, '--config', setup.config, '--state-dir', setup.stateDir], {
      cwd: work,
    });
    expect(await submit.exited).toBe(0);
    // The demo's four tasks: three code tasks and DEMO-4, an analysis task (no gate run, no commit).
    const ids = ['DEMO-1', 'DEMO-2', 'DEMO-3', 'DEMO-4'];
    const records = await observer.settled(ids, 90_000);
    // task.finished follows the stored end at once (the worktree is removed after it).
    const watching = observer;
    await waitFor(
      'every task.finished',
      () => Promise.resolve(watching.events.filter((e) => e.type === 'task.finished').length >= ids.length ? true : undefined),
      10_000,
    );

    const urls = services.slice(0, 2).map((s) => /metrics, \/healthz and \/readyz at (http:\/\/\S+)/.exec(s.output())?.[1]);
    const scrape = async (): Promise<string> => (await Promise.all(urls.map(async (url) => (await fetch(`${url}/metrics`)).text()))).join('\n');
    const events = observer.events;
    const happened = {
      done: records.filter((r) => r.state === 'DONE').length,
      finished: events.filter((e) => e.type === 'task.finished').length,
      gates: events.filter((e) => e.type === 'gate.finished').length,
      gatesFailed: events.filter((e) => e.type === 'gate.finished' && !e.passed).length,
      calls: events.filter((e) => e.type === 'role.finished').length,
      tokensIn: events.reduce((n, e) => n + (e.type === 'role.finished' ? e.tokens_input : 0), 0),
    };
    const counted = (text: string) => ({
      done: sum(text, 'orchestrator_tasks_total', { status: 'DONE' }),
      finished: sum(text, 'orchestrator_task_duration_seconds_count'),
      gates: sum(text, 'orchestrator_quality_gate_runs_total'),
      gatesFailed: sum(text, 'orchestrator_quality_gate_runs_total', { status: 'failed' }),
      calls: sum(text, 'orchestrator_llm_results_total'),
      tokensIn: sum(text, 'orchestrator_llm_tokens_total', { direction: 'input' }),
    });
    // The last events reach the supervisors' subscriptions a moment after the records settle.
    const text = await waitFor(
      'both supervisors to count what happened',
      async () => {
        const now = await scrape();
        return JSON.stringify(counted(now)) === JSON.stringify(happened) ? now : undefined;
      },
      10_000,
    ).catch(async () => scrape());
    expect({ ...counted(text), tasks: records.length }).toEqual({ ...happened, done: 4, finished: 4, tasks: 4 });
    expect(sum(text, 'orchestrator_tasks_total', { status: 'NEW' })).toBeLessThanOrEqual(4);
    expect(sum(text, 'orchestrator_tasks_in_state')).toBe(0);
  });
});
