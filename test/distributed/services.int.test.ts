import { execFile } from 'node:child_process';
import { cp, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGitRepo, type GitRepo } from '../helpers/git-repo.js';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { startTandem, stopAllTandems, waitFor } from '../helpers/tandem-process.js';
import type { TaskRecord } from '../../src/model/task-record.js';
import { observe, paidTwice, startService, type Observer, type Service, type ServiceSetup } from '../helpers/tandem-services.js';

/**
 * Distributed mode as it is deployed: a real nats-server, and the supervisor and every role as
 * separate `tandem serve` OS processes sharing a state volume; tasks come in through `tandem
 * submit`. The scripted runner stands in for the models (its answers are a pure function of the
 * request, so every process answers alike).
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
const demoTasks = join(root, 'examples', 'demo', 'tasks.yaml');
const demoScript = join(root, 'examples', 'demo', 'script.yaml');
const DONE = new Set(['DONE']);
const execFileAsync = promisify(execFile);

/** The tasks these tests run: each one's second step writes its own file (a step that changes nothing is sent back). */
const SLOW_IDS = [...['K', 'R', 'N'].flatMap((p) => Array.from({ length: 8 }, (_, i) => `${p}${i + 1}`)), 'W1', 'M1', 'M2'];

/** Two steps per task; each call takes a while, so a kill lands in the middle of one. */
const SLOW_SCRIPT = `defaults:
  planner: [ { delay_ms: 150, respond: { task_id: X, steps: [ { id: S1, type: implementation, description: Write the first note }, { id: S2, type: implementation, description: Write the second note } ] } } ]
  plan-reviewer: [ { delay_ms: 100, respond: { status: approved } } ]
  implementer: [ { delay_ms: 400, edits: [ { path: notes.txt, content: "written\\n" } ], respond: { explanation: wrote it, confidence: 0.9 } } ]
  code-reviewer: [ { delay_ms: 100, respond: { status: approved } } ]
tasks:
${SLOW_IDS.map((id) => `  ${id}:\n    steps:\n      S2:\n        implementer: [ { delay_ms: 400, edits: [ { path: notes-2.txt, content: "written\\n" } ], respond: { explanation: wrote it, confidence: 0.9 } } ]\n`).join('')}`;

function slowTasks(ids: readonly string[]): string {
  return `tasks:\n${ids.map((id) => `  - id: ${id}\n    goal: Write the notes of ${id}\n    risk: low\n`).join('')}`;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Both steps committed once each, on the branch and in the record; on failure, how it got there. */
async function expectCommittedOnce(repo: string, record: TaskRecord, observer: Observer): Promise<void> {
  const branch = `tandem/${record.id}`;
  const log = (await execFileAsync('git', ['log', '--format=%s', `main..${branch}`], { cwd: repo })).stdout.trim().split('\n');
  const recorded = record.commits.map((c) => c.stepId);
  const expected = { id: record.id, log: ['S2: Write the second note', 'S1: Write the first note'], recorded: ['S1', 'S2'] };
  if (JSON.stringify({ id: record.id, log, recorded }) === JSON.stringify(expected)) return;
  const story: string[] = [];
  for (const e of observer.events) {
    if (e.taskId !== record.id) continue;
    if (e.type === 'task.state') story.push(`${e.state}${e.stepId === undefined ? '' : `:${e.stepId}`}`);
    if (e.type === 'step.committed') story.push(`commit:${e.stepId}:${e.sha.slice(0, 7)}`);
  }
  const reflog = (await execFileAsync('git', ['reflog', 'show', '--date=unix', branch], { cwd: repo }).catch(() => ({ stdout: 'no reflog' }))).stdout;
  const commits = record.commits.map((c) => `${c.stepId}:${c.sha.slice(0, 7)}`);
  expect({ id: record.id, log, recorded, story, reflog, commits }).toEqual({ ...expected, story, reflog, commits });
}

/** Every service a test started; stopped (and waited for) before its repository is removed. */
const started: Service[] = [];
async function serve(
  setup: ServiceSetup,
  name: string,
  services: readonly string[],
  extra: readonly string[] = [],
  options: { readonly ready?: boolean } = {},
): Promise<Service> {
  const service = await startService(setup, name, services, extra, options);
  started.push(service);
  return service;
}
async function stopServices(): Promise<void> {
  for (const service of started.splice(0)) {
    service.stop();
    await service.exited;
  }
}

describe('tandem serve (separate processes over a real NATS server)', () => {
  let nats: NatsServer;
  let work: string;
  let observer: Observer | undefined;

  beforeEach(async () => {
    nats = await startNatsServer();
    work = await realpath(await mkdtemp(join(tmpdir(), 'tandem-dist-')));
  });

  afterEach(async () => {
    await stopServices();
    stopAllTandems();
    await observer?.close();
    observer = undefined;
    await nats.cleanup();
    await rm(work, { recursive: true, force: true });
  });

  async function demoRepo(name: string): Promise<string> {
    const dir = join(work, name);
    await cp(join(root, 'examples', 'demo-repo'), dir, { recursive: true });
    await gitInit(dir);
    return dir;
  }

  async function gitInit(dir: string): Promise<void> {
    const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };
    for (const args of [
      ['init', '-q', '-b', 'main'],
      ['add', '-A'],
      ['commit', '-q', '-m', 'initial'],
    ])
      await execFileAsync('git', args, { cwd: dir, env });
  }

  async function git(dir: string, ...args: string[]): Promise<string> {
    return (await execFileAsync('git', args, { cwd: dir })).stdout.trim();
  }

  async function submit(setup: ServiceSetup, tasks: string, repo: string): Promise<void> {
    const proc = startTandem(['submit', tasks, '--repo', repo, '--nats', setup.natsUrl, '--config', setup.config, '--state-dir', setup.stateDir], {
      cwd: setup.cwd,
    });
    expect({ code: await proc.exited, output: proc.output() }).toMatchObject({ code: 0 });
  }

  it('runs the demo tasks through separate supervisor, planner, reviewer, implementer and gate processes, as the embedded run does', {
    timeout: 120_000,
  }, async () => {
    // The same tasks, once embedded (`tandem run`) and once through the services.
    const embeddedRepo = await demoRepo('embedded');
    const distributedRepo = await demoRepo('distributed');
    await writeFile(join(work, 'tandem.config.yaml'), 'concurrency: 3\n');
    const embedded = startTandem(
      ['run', demoTasks, '--repo', embeddedRepo, '--runner', 'scripted', '--script', demoScript, '--state-dir', join(work, 'embedded-state'), '--json'],
      { cwd: work },
    );

    const setup: ServiceSetup = { natsUrl: nats.url, stateDir: join(work, 'state'), script: demoScript, config: join(work, 'tandem.config.yaml'), cwd: work };
    const services: Service[] = [];
    for (const name of ['supervisor', 'planner', 'plan-reviewer', 'implementer', 'code-reviewer', 'quality-gate']) {
      services.push(await serve(setup, name, [name], name === 'planner' ? ['--metrics-port', '127.0.0.1:0'] : []));
    }
    // What an orchestrator probes: live, ready (connected to NATS), and the metrics.
    const probe = /metrics, \/healthz and \/readyz at (http:\/\/\S+)/.exec(services[1]?.output() ?? '')?.[1];
    expect(probe).toBeDefined();
    expect((await fetch(`${probe}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${probe}/readyz`)).text()).toContain('"ready"');
    expect(await (await fetch(`${probe}/metrics`)).text()).toContain('process_cpu_seconds_total');
    observer = await observe(nats.url);
    await submit(setup, demoTasks, distributedRepo);
    const records = await observer.settled(['DEMO-1', 'DEMO-2', 'DEMO-3'], 90_000);

    expect(await embedded.exited).toBe(0);
    const finished = embedded
      .output()
      .split('\n')
      .find((line) => line.startsWith('{"v":1,"type":"run.finished"'));
    const embeddedOutcomes = (JSON.parse(finished ?? '{}') as { tasks: { id: string; state: string; commits: unknown[] }[] }).tasks;
    for (const record of records) {
      const twin = embeddedOutcomes.find((o) => o.id === record.id);
      expect({ id: record.id, state: record.state, commits: record.commits.length }).toEqual({
        id: twin?.id,
        state: twin?.state,
        commits: twin?.commits.length,
      });
      // The same edits landed: the branches hold identical trees, commit by commit.
      const branch = `tandem/${record.id}`;
      expect(await git(distributedRepo, 'log', '--format=%s', `main..${branch}`)).toBe(await git(embeddedRepo, 'log', '--format=%s', `main..${branch}`));
      expect(await git(distributedRepo, 'rev-parse', `${branch}^{tree}`)).toBe(await git(embeddedRepo, 'rev-parse', `${branch}^{tree}`));
    }
    // Each role's work was done by its own process.
    const byRole = new Map(services.map((s) => [s.name, s.output()]));
    expect(byRole.get('planner')).toContain('planner: plan for DEMO-1');
    expect(byRole.get('implementer')).toContain('implementer: implement for DEMO-3');
    expect(byRole.get('quality-gate')).toContain('quality-gate: gate for DEMO-2');
    expect(byRole.get('supervisor')).not.toContain('planner: plan for');
    expect(paidTwice(observer.events)).toEqual([]);

    // SIGTERM: each service drains and exits 130, as an interrupted `tandem run` does.
    for (const service of services) service.child.kill('SIGTERM');
    for (const service of services) expect({ name: service.name, code: await service.exited }).toEqual({ name: service.name, code: 130 });
  });

  it('two supervisors and two replicas per role share the work; kill -9 of any of them, a NATS restart and services started while NATS is down lose no task, commit no step twice and pay no completed call twice', {
    timeout: 180_000,
  }, async () => {
    const repo: GitRepo = await createGitRepo({ 'README.md': '# notes\n' });
    try {
      await writeFile(join(work, 'script.yaml'), SLOW_SCRIPT);
      await writeFile(
        join(work, 'tandem.config.yaml'),
        'concurrency: 4\ngate:\n  checks:\n    - name: slow-ok\n      command: "sleep 0.3"\n      timeout_ms: 30000\nnats:\n  reconnect:\n    min_delay_ms: 100\n    max_delay_ms: 500\n',
      );
      const ids = Array.from({ length: 8 }, (_, i) => `K${i + 1}`);
      await writeFile(join(work, 'tasks.yaml'), slowTasks(ids));
      const setup: ServiceSetup = {
        natsUrl: nats.url,
        stateDir: join(work, 'state'),
        script: join(work, 'script.yaml'),
        config: join(work, 'tandem.config.yaml'),
        cwd: work,
      };
      const roles = ['planner', 'plan-reviewer', 'implementer', 'code-reviewer', 'quality-gate'];
      const live = new Map<string, Service>();
      const everyone: Service[] = [];
      const start = async (name: string, services: readonly string[]): Promise<void> => {
        const service = await serve(setup, name, services);
        everyone.push(service);
        live.set(name, service);
      };
      await Promise.all([start('sup-a', ['supervisor']), start('sup-b', ['supervisor']), start('roles-1', roles), start('roles-2', roles)]);
      observer = await observe(nats.url);
      await submit(setup, join(work, 'tasks.yaml'), repo.dir);

      // Kill each kind of process with SIGKILL in the middle of its work, and start it again.
      /** When each supervisor was killed, to measure how long its tasks waited for another one. */
      const supervisorKills: { name: string; at: number }[] = [];
      const kill = async (name: string, services: readonly string[], when: () => boolean): Promise<void> => {
        await waitFor(`a moment to kill ${name}`, () => Promise.resolve(when() ? true : undefined), 60_000);
        await sleep(Math.floor(Math.random() * 150));
        const victim = live.get(name);
        victim?.stop();
        expect(await victim?.exited).toBe('SIGKILL');
        if (services.includes('supervisor')) supervisorKills.push({ name, at: Date.now() });
        await start(name, services);
      };
      const started = (role: string, n: number) => (): boolean => observer!.events.filter((e) => e.type === 'role.started' && e.role === role).length >= n;
      await kill('sup-a', ['supervisor'], started('implementer', 2));
      await kill('roles-1', roles, started('implementer', 6));
      await kill('sup-b', ['supervisor'], () => observer!.events.filter((e) => e.type === 'gate.finished').length >= 4);
      await kill('roles-2', roles, started('code-reviewer', 8));

      // NATS goes away with half the work in flight; meanwhile a supervisor and a role replica are
      // killed and started again, so they start while NATS is down (and wait for it, --nats-wait).
      await nats.stop();
      for (const [name, services] of [
        ['sup-a', ['supervisor']],
        ['roles-1', roles],
      ] as const) {
        live.get(name)?.stop();
        await live.get(name)?.exited;
        if (name === 'sup-a') supervisorKills.push({ name, at: Date.now() });
        const late = await serve(setup, name, services, ['--nats-wait', '2m'], { ready: false });
        everyone.push(late);
        live.set(name, late);
      }
      await waitFor('the restarted services to wait for NATS', () =>
        Promise.resolve(['sup-a', 'roles-1'].every((n) => /waiting for NATS/.test(live.get(n)?.output() ?? '')) ? true : undefined),
      );
      await sleep(1_000);
      await nats.start();
      const faultsEnded = Date.now();

      // The bound: every task DONE within 90 s of the last fault (a lease of 1.5 s, reconnects of at
      // most 0.5 s, a role call handed on after 10 s; the rest is the work itself on a busy machine).
      const records = await observer.settled(ids, 90_000, DONE).catch((error: unknown) => {
        throw new Error(`${String(error)}\n${[...live.values()].map((s) => `--- ${s.name}\n${s.output().slice(-3000)}`).join('\n')}`);
      });
      console.info(`every task DONE ${Date.now() - faultsEnded} ms after the faults stopped (bound 90 s)`);
      expect(['sup-a', 'roles-1'].map((n) => live.get(n)?.output().includes(' ready on '))).toEqual([true, true]);
      // Recovery: from each supervisor kill to the first and the last of its tasks another supervisor,
      // or its own restart under the same --id, took (the time the tasks waited for a driver).
      const recovery = supervisorKills.map(({ name, at }) => {
        const first = new Map<string, number>();
        for (const service of everyone) {
          for (const line of service.output().split('\n')) {
            const match = /"time":(\d+).*took (over|back) task (\w+) \(\w+\)(?: from supervisor (\S+):)?/.exec(line);
            if (!match || (match[2] === 'over' ? match[4] !== name : service.name !== name)) continue;
            const after = Number(match[1]) - at;
            const task = match[3] ?? '';
            if (after > 0 && after < 60_000 && after < (first.get(task) ?? Infinity)) first.set(task, after);
          }
        }
        const waits = [...first.values()];
        return waits.length === 0 ? `${name}: held no task` : `${name}: ${Math.min(...waits)}–${Math.max(...waits)} ms for its ${waits.length} tasks`;
      });
      console.info(`recovery after each supervisor kill (lease 1.5 s): ${recovery.join('; ')}`);
      expect(records.map((r) => r.state)).toEqual(ids.map(() => 'DONE'));
      for (const record of records) {
        // Every step committed exactly once, and the record agrees with the branch.
        await expectCommittedOnce(repo.dir, record, observer);
      }
      expect(paidTwice(observer.events)).toEqual([]);
    } finally {
      await stopServices();
      await repo.cleanup();
    }
  });

  it('kill -9 of a supervisor: the other takes its tasks within ttl + one scan (default lease 6 s); a restart under the same --id takes them back at once', {
    timeout: 150_000,
  }, async () => {
    const repo = await createGitRepo({ 'README.md': '# notes\n' });
    try {
      // Long implementer calls, so every task is mid-run when its supervisor dies.
      await writeFile(join(work, 'script.yaml'), SLOW_SCRIPT.replaceAll('delay_ms: 400', 'delay_ms: 2500'));
      await writeFile(join(work, 'tandem.config.yaml'), 'concurrency: 4\ngate:\n  checks:\n    - name: ok\n      command: "true"\n      timeout_ms: 30000\n');
      const ids = ['R1', 'R2', 'R3', 'R4', 'R5', 'R6'];
      await writeFile(join(work, 'tasks.yaml'), slowTasks(ids));
      const setup: ServiceSetup = {
        natsUrl: nats.url,
        stateDir: join(work, 'state'),
        script: join(work, 'script.yaml'),
        config: join(work, 'tandem.config.yaml'),
        cwd: work,
      };
      const lease = ['--lease-ms', '6000'];
      const roles = ['planner', 'plan-reviewer', 'implementer', 'code-reviewer', 'quality-gate'];
      const [supA, supB] = await Promise.all([
        serve(setup, 'sup-a', ['supervisor'], lease),
        serve(setup, 'sup-b', ['supervisor'], lease),
        serve(setup, 'roles', roles),
      ]);
      observer = await observe(nats.url);
      const owners = async (): Promise<Map<string, string>> =>
        new Map((await observer!.store.list('leases')).map((e) => [e.key.slice('leases.'.length), (e.value as { owner: string }).owner]));
      const unfinished = async (): Promise<Set<string>> =>
        new Set((await observer!.records()).filter((r) => !['DONE', 'FAILED', 'ABORTED'].includes(r.state)).map((r) => r.id));
      await submit(setup, join(work, 'tasks.yaml'), repo.dir);

      // 1. Crash: sup-a dies; sup-b holds every one of its unfinished tasks within the bound.
      const ofA = await waitFor(
        'sup-a to drive tasks',
        async () => {
          const mine = [...(await owners())].filter(([, owner]) => owner === 'sup-a').map(([id]) => id);
          return mine.length >= 2 ? mine : undefined;
        },
        60_000,
      );
      const killedAt = Date.now();
      supA?.stop();
      expect(await supA?.exited).toBe('SIGKILL');
      await waitFor(
        "sup-b to take sup-a's tasks",
        async () => {
          const [now, open] = [await owners(), await unfinished()];
          return ofA.every((id) => !open.has(id) || now.get(id) === 'sup-b') ? true : undefined;
        },
        30_000,
      );
      const takeoverMs = Date.now() - killedAt;
      console.info(`recovery after kill -9 of a supervisor (lease 6 s): ${takeoverMs} ms for ${ofA.length} tasks`);
      expect(takeoverMs).toBeLessThan(15_000);
      expect(supB?.output()).toMatch(/took over task R\d \(\w+\) from supervisor sup-a: its lease ran out/);

      // 2. Restart under the same id: sup-b dies, sup-b comes back and takes its own leases at once.
      const ofB = [...(await owners())].filter(([, owner]) => owner === 'sup-b').map(([id]) => id);
      const open = await unfinished();
      supB?.stop();
      await supB?.exited;
      const restartedAt = Date.now();
      const again = await serve(setup, 'sup-b', ['supervisor'], lease);
      const readyAt = Date.now();
      const stillOpen = ofB.filter((id) => open.has(id));
      expect(stillOpen.length).toBeGreaterThan(0);
      await waitFor(
        'the restarted sup-b to take its tasks back',
        () => Promise.resolve(stillOpen.every((id) => again.output().includes(`took back task ${id}`)) ? true : undefined),
        30_000,
      );
      const backMs = Date.now() - readyAt;
      console.info(
        `a supervisor restarted under its --id took its ${stillOpen.length} tasks back ${backMs} ms after it was ready (${readyAt - restartedAt} ms to start)`,
      );
      // At once: its first scan, long before its old leases (6 s) could have run out.
      expect(backMs).toBeLessThan(3_000);
      const records = await observer.settled(ids, 90_000, DONE).catch((error: unknown) => {
        throw new Error(`${String(error)}\n${again.output().slice(-4000)}`);
      });
      expect(records.map((r) => r.state)).toEqual(ids.map(() => 'DONE'));
      for (const record of records) await expectCommittedOnce(repo.dir, record, observer);
      expect(paidTwice(observer.events)).toEqual([]);
    } finally {
      await stopServices();
      await repo.cleanup();
    }
  });

  it('keeps going when the NATS server restarts mid-run: the services reconnect and every task completes', { timeout: 120_000 }, async () => {
    const repo = await createGitRepo({ 'README.md': '# notes\n' });
    try {
      await writeFile(join(work, 'script.yaml'), SLOW_SCRIPT);
      await writeFile(
        join(work, 'tandem.config.yaml'),
        'concurrency: 4\ngate:\n  checks:\n    - name: ok\n      command: "true"\n      timeout_ms: 30000\nnats:\n  reconnect:\n    min_delay_ms: 100\n    max_delay_ms: 500\n',
      );
      const ids = ['N1', 'N2', 'N3', 'N4'];
      await writeFile(join(work, 'tasks.yaml'), slowTasks(ids));
      const setup: ServiceSetup = {
        natsUrl: nats.url,
        stateDir: join(work, 'state'),
        script: join(work, 'script.yaml'),
        config: join(work, 'tandem.config.yaml'),
        cwd: work,
      };
      const service = await serve(setup, 'all-in-one', ['all']);
      observer = await observe(nats.url);
      await submit(setup, join(work, 'tasks.yaml'), repo.dir);
      await waitFor(
        'implementers to start',
        () => Promise.resolve(observer!.events.some((e) => e.type === 'role.started' && e.role === 'implementer') ? true : undefined),
        60_000,
      );
      await nats.stop();
      await sleep(1_500);
      await nats.start();
      const records = await observer.settled(ids, 90_000, DONE).catch((error: unknown) => {
        throw new Error(`${String(error)}\n${service.output().slice(-4000)}`);
      });
      expect(records.map((r) => r.state)).toEqual(['DONE', 'DONE', 'DONE', 'DONE']);
      for (const record of records) await expectCommittedOnce(repo.dir, record, observer);
      expect(service.output()).toMatch(/reconnect/i);
    } finally {
      await stopServices();
      await repo.cleanup();
    }
  });

  it('a service started while NATS is down waits for it (live, not ready), then becomes ready and works', { timeout: 120_000 }, async () => {
    const repo = await createGitRepo({ 'README.md': '# notes\n' });
    try {
      await writeFile(join(work, 'script.yaml'), SLOW_SCRIPT);
      await writeFile(join(work, 'tandem.config.yaml'), 'gate:\n  checks:\n    - name: ok\n      command: "true"\n      timeout_ms: 30000\n');
      await writeFile(join(work, 'tasks.yaml'), slowTasks(['W1']));
      const setup: ServiceSetup = {
        natsUrl: nats.url,
        stateDir: join(work, 'state'),
        script: join(work, 'script.yaml'),
        config: join(work, 'tandem.config.yaml'),
        cwd: work,
      };
      await nats.stop();
      const args = [
        'serve',
        'all',
        '--nats',
        nats.url,
        '--runner',
        'scripted',
        '--script',
        setup.script,
        '--config',
        setup.config,
        '--state-dir',
        setup.stateDir,
      ];
      const proc = startTandem([...args, '--id', 'late', '--metrics-port', '127.0.0.1:0', '--nats-wait', '2m', '--log-level', 'info'], { cwd: work });
      const service = Object.assign(proc, { name: 'late' });
      started.push(service);
      const probe = await waitFor(
        'the metrics port',
        () => Promise.resolve(/metrics, \/healthz and \/readyz at (http:\/\/\S+)/.exec(proc.output())?.[1]),
        20_000,
      );
      await waitFor(
        'a line saying it waits for NATS',
        () => Promise.resolve(/waiting for NATS: .*trying again in/.test(proc.output()) ? true : undefined),
        20_000,
      );
      expect((await fetch(`${probe}/healthz`)).status).toBe(200);
      expect((await fetch(`${probe}/readyz`)).status).toBe(503);
      await sleep(1_500);
      expect(proc.child.exitCode).toBeNull();
      await nats.start();
      await waitFor('the service to be ready', () => Promise.resolve(proc.output().includes(' ready on ') ? true : undefined), 30_000);
      expect((await fetch(`${probe}/readyz`)).status).toBe(200);
      observer = await observe(nats.url);
      await submit(setup, join(work, 'tasks.yaml'), repo.dir);
      expect((await observer.settled(['W1'], 60_000, DONE)).map((r) => r.state)).toEqual(['DONE']);
      // `cost --nats` and `route --nats` read the shared store: the calls every service recorded.
      const cost = startTandem(['cost', '--nats', nats.url, '--config', setup.config, '--by', 'task', '--json'], { cwd: work });
      expect({ code: await cost.exited, output: cost.output() }).toMatchObject({ code: 0, output: expect.stringContaining('W1') as unknown });
      const route = startTandem(['route', join(work, 'tasks.yaml'), '--nats', nats.url, '--config', setup.config, '--runner', 'scripted', '--json'], {
        cwd: work,
      });
      expect({ code: await route.exited, output: route.output() }).toMatchObject({ code: 0, output: expect.stringContaining('"W1"') as unknown });
    } finally {
      await stopServices();
      await repo.cleanup();
    }
  });

  it('gives up waiting for NATS after --nats-wait, exiting 1 with the reason', { timeout: 60_000 }, async () => {
    await nats.stop();
    await writeFile(join(work, 'script.yaml'), SLOW_SCRIPT);
    const proc = startTandem(
      [
        'serve',
        'planner',
        '--nats',
        nats.url,
        '--runner',
        'scripted',
        '--script',
        join(work, 'script.yaml'),
        '--state-dir',
        join(work, 'state'),
        '--nats-wait',
        '1s',
      ],
      { cwd: work },
    );
    const code = await proc.exited;
    expect({ code, output: proc.output() }).toEqual({ code: 1, output: expect.stringMatching(/waiting for NATS/) as unknown });
    expect(proc.output()).toMatch(/gave up after waiting 1 s; see --nats-wait/);
  });

  it('logs and drops malformed messages on every channel and goes on working', { timeout: 90_000 }, async () => {
    const repo = await createGitRepo({ 'README.md': '# notes\n' });
    try {
      await writeFile(join(work, 'script.yaml'), SLOW_SCRIPT);
      await writeFile(join(work, 'tandem.config.yaml'), 'gate:\n  checks:\n    - name: ok\n      command: "true"\n      timeout_ms: 30000\n');
      await writeFile(join(work, 'tasks.yaml'), slowTasks(['M1', 'M2']));
      const setup: ServiceSetup = {
        natsUrl: nats.url,
        stateDir: join(work, 'state'),
        script: join(work, 'script.yaml'),
        config: join(work, 'tandem.config.yaml'),
        cwd: work,
      };
      const service = await serve(setup, 'all-in-one', ['all']);
      observer = await observe(nats.url);
      // Garbage on the core subjects the services listen to, and in the durable queues.
      const { connectNats } = await import('../../src/bus/nats-connection.js');
      const { jetstream } = await import('@nats-io/jetstream');
      const raw = await connectNats({ servers: [nats.url] });
      const fixed = [
        '',
        'not json',
        '{}',
        '{"type":"role.plan","taskId":"M1"}',
        '{"type":"task.submit","spec":{"id":"../x"}}',
        '\u0000\u00ff',
        JSON.stringify({ type: 'review.decision', taskId: 'M1', at: 1, decision: { decision: 'nope' } }),
      ];
      // And whatever fast-check makes up: near-misses of real messages and arbitrary JSON or text.
      const nearMiss = fc.record({
        type: fc.constantFrom('role.plan', 'role.gate', 'role.result', 'task.submit', 'review.decision', 'task.abort', 'x'),
        taskId: fc.oneof(fc.constant('M1'), fc.string()),
        key: fc.string(),
        at: fc.oneof(fc.integer(), fc.string()),
        input: fc.anything(),
      });
      const garbage = [
        ...fixed,
        ...fc.sample(
          fc.oneof(
            nearMiss.map((m) => JSON.stringify(m)),
            fc.json(),
            fc.string(),
          ),
          { numRuns: 40, seed: 42 },
        ),
      ];
      const js = jetstream(raw);
      for (const text of garbage) {
        for (const subj of ['tandem.v1.control.M1', 'tandem.v1.results.M1', 'tandem.v1.events.M1.task_state']) raw.publish(subj, text);
        for (const subj of ['tandem.v1.tasks.submit', 'tandem.v1.role.planner.run', 'tandem.v1.role.quality-gate.run']) await js.publish(subj, text);
      }
      await raw.flush();
      await raw.close();
      await submit(setup, join(work, 'tasks.yaml'), repo.dir);
      const records = await observer.settled(['M1', 'M2'], 60_000, DONE);
      expect(records.map((r) => r.state)).toEqual(['DONE', 'DONE']);
      expect(service.child.exitCode).toBeNull();
      expect(service.output()).toMatch(/invalid|dead-letter|gave up/i);
    } finally {
      await stopServices();
      await repo.cleanup();
    }
  });
});
