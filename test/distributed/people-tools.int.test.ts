import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGitRepo, type GitRepo } from '../helpers/git-repo.js';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { startTandem, stopAllTandems, waitFor } from '../helpers/tandem-process.js';
import { startService, type Service, type ServiceSetup } from '../helpers/tandem-services.js';
import { taskFile } from '../intake/watcher-harness.js';

/**
 * The people tools in the deployed shape: `tandem watch --nats` is a process of its own that runs
 * no model; it hands the folder's *.task.md files to the supervisors over NATS, and writes the
 * results, summaries and logs from what the separate `tandem serve` processes store and publish.
 * `tandem review --nats` decides on a task waiting for a person, and the watcher reports the end.
 */

const SCRIPT = `defaults:
  planner: [ { respond: { task_id: X, steps: [ { id: S1, type: implementation, description: Write the note } ] } } ]
  plan-reviewer: [ { respond: { status: approved } } ]
  implementer: [ { edits: [ { path: note.txt, content: "done\\n" } ], respond: { explanation: wrote the note, confidence: 0.9 } } ]
  code-reviewer: [ { respond: { status: approved } } ]
tasks:
  RV1:
    plan-reviewer: [ { respond: { status: rejected, comments: [ a person should look at this plan ] } } ]
`;
const CONFIG = 'gate:\n  checks:\n    - name: ok\n      command: "true"\n      timeout_ms: 30000\n';

/** The first line of a result file: `<!-- tandem-result <id> <state> <at> -->`. */
async function resultState(inbox: string, id: string): Promise<string | undefined> {
  const text = await readFile(join(inbox, 'results', `${id}.md`), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : /^<!-- tandem-result \S+ (\S+) /.exec(text)?.[1];
}

describe('tandem watch / review over NATS, with separate supervisor and role services', () => {
  let nats: NatsServer;
  let work: string;
  let repo: GitRepo;
  const services: Service[] = [];

  beforeEach(async () => {
    nats = await startNatsServer();
    work = await realpath(await mkdtemp(join(tmpdir(), 'tandem-people-')));
    repo = await createGitRepo({ 'README.md': '# project\n' });
  });

  afterEach(async () => {
    for (const service of services.splice(0)) {
      service.stop();
      await service.exited;
    }
    stopAllTandems();
    await nats.cleanup();
    await repo.cleanup();
    await rm(work, { recursive: true, force: true });
  });

  it('watch --nats runs dropped task files on the services and writes their results; review --nats continues a waiting one', { timeout: 120_000 }, async () => {
    await writeFile(join(work, 'script.yaml'), SCRIPT);
    await writeFile(join(work, 'tandem.config.yaml'), CONFIG);
    const inbox = join(work, 'inbox');
    await mkdir(inbox);
    const setup: ServiceSetup = {
      natsUrl: nats.url,
      stateDir: join(work, 'state'),
      script: join(work, 'script.yaml'),
      config: join(work, 'tandem.config.yaml'),
      cwd: work,
    };
    services.push(await startService(setup, 'sup', ['supervisor']));
    services.push(await startService(setup, 'roles', ['planner', 'plan-reviewer', 'implementer', 'code-reviewer', 'quality-gate']));

    // No --runner and no --script: the watcher needs no model, the services answer.
    const watcher = startTandem(
      [
        'watch',
        inbox,
        '--nats',
        nats.url,
        '--repo',
        repo.dir,
        '--id',
        'watcher-1',
        '--no-mediator',
        '--settle-ms',
        '100',
        '--config',
        setup.config,
        '--log-level',
        'info',
      ],
      { cwd: work },
    );
    await waitFor(
      `the watcher to start (output: ${watcher.output()})`,
      () => Promise.resolve(watcher.output().includes('watching ') ? true : watcher.child.exitCode !== null ? false : undefined),
      30_000,
    ).then((ok) => {
      if (!ok) throw new Error(`the watcher exited:\n${watcher.output()}`);
    });
    expect(watcher.output()).toContain(`NATS: ${nats.url} as watcher-1`);

    await writeFile(join(inbox, 'one.task.md'), taskFile('W1'));
    await writeFile(join(inbox, 'two.task.md'), taskFile('W2'));
    await writeFile(join(inbox, 'review.task.md'), taskFile('RV1'));
    const states = async (): Promise<Record<string, string | undefined>> => ({
      W1: await resultState(inbox, 'W1'),
      W2: await resultState(inbox, 'W2'),
      RV1: await resultState(inbox, 'RV1'),
    });
    const settled = { W1: 'DONE', W2: 'DONE', RV1: 'AWAITING_HUMAN_REVIEW' };
    await waitFor('the results of W1, W2 and RV1', async () => (JSON.stringify(await states()) === JSON.stringify(settled) ? true : undefined), 60_000).catch(
      async (error: unknown) => {
        throw new Error(
          `${String(error)}: ${JSON.stringify(await states())}\n${watcher.output().slice(-3000)}\n${services.map((s) => s.output().slice(-2000)).join('\n')}`,
        );
      },
    );
    expect(await repo.git('log', '--format=%s', 'main..tandem/W1')).toBe('S1: Write the note');
    expect(await repo.git('log', '--format=%s', 'main..tandem/W2')).toBe('S1: Write the note');
    // The log of each task holds what the services published, from the submission to the end.
    const w1Log = (await readFile(join(inbox, 'logs', 'W1.jsonl'), 'utf8')).split('\n').filter((l) => l !== '');
    expect(w1Log.map((l) => (JSON.parse(l) as { type: string }).type)).toContain('task.finished');
    expect(existsSync(join(inbox, 'summaries', 'W1.md'))).toBe(true);

    // A person decides over NATS; the supervisor applies it, the watcher reports the end.
    const review = startTandem(['review', 'RV1', '--approve', '--nats', nats.url, '--config', setup.config], { cwd: work });
    expect({ code: await review.exited, output: review.output() }).toEqual({
      code: 0,
      output: expect.stringContaining('decision for RV1 stored: approve') as unknown,
    });
    await waitFor('the result of RV1 to say DONE', async () => ((await resultState(inbox, 'RV1')) === 'DONE' ? true : undefined), 60_000);
    expect(await repo.git('log', '--format=%s', 'main..tandem/RV1')).toBe('S1: Write the note');
    await waitFor('every file to be processed', async () => ((await readdir(join(inbox, 'processed'))).length === 3 ? true : undefined), 20_000);

    // The watcher ran no model and held no task: the services did the work.
    expect(watcher.output()).not.toMatch(/planner: plan for|SCRIPTED/);
    expect(services[1]?.output()).toContain('planner: plan for W1');
    watcher.child.kill('SIGTERM');
    expect(await watcher.exited).toBe(130); // stopped by a signal, like `run`
  });
});
