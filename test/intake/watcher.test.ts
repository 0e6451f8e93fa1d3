import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createMediator } from '../../src/mediator/mediator.js';
import { createOllamaMediatorModel } from '../../src/mediator/mediator-model.js';
import { startFakeOllama, type FakeOllama } from '../helpers/fake-ollama.js';
import { approveAll, loggedEvents, startHarness, taskFile, waitUntil, type WatcherHarness } from './watcher-harness.js';

/**
 * The watcher in-process on a real folder: reports beside the tasks, rejections naming line and
 * field, duplicate ids, summaries from the mediator or the template, and a task that waits for a
 * person and is then decided.
 */

describe('task watcher', () => {
  let h: WatcherHarness | undefined;
  let ollama: FakeOllama | undefined;

  afterEach(async () => {
    await h?.close();
    await ollama?.close();
    h = undefined;
    ollama = undefined;
  });

  it('runs a dropped task file and writes results/, summaries/ and logs/ beside it', async () => {
    h = await startHarness();
    await writeFile(join(h.inbox, 'note.task.md'), taskFile('N1'));
    await waitUntil('the file to be processed', async () => (await h?.list('processed'))?.includes('note.task.md') ?? false);
    await h.watcher.idle();
    expect(await h.list()).toEqual(['.claimed', 'logs', 'processed', 'rejected', 'results', 'summaries']);
    expect(await h.list('.claimed/w-test')).toEqual([]);
    const result = await h.read('results', 'N1.md');
    const record = await h.runtime.get('N1');
    expect(result.split('\n')[0]).toBe(`<!-- tandem-result N1 DONE ${record?.updatedAt} -->`);
    expect(result).toContain('| State | DONE |');
    expect(result).toContain('| Source | note.task.md |');
    expect(result).toContain('| Branch | tandem/N1 |');
    expect(result).toContain('- S1 (implementation): Write the note — committed sha-0');
    expect(result).toContain('- S1, attempt 1: passed — no checks configured');
    expect(result).toContain('- planner · ');
    // The validator's checklist (the script's implicit pass).
    expect(result).toContain('## Validation\n\nVerdict: pass, confidence 1 (');
    expect(result).toContain(', validation 1)\n- no issue found');
    expect(await h.read('summaries', 'N1.md')).toMatch(
      /^SUCCESS: N1 is done: note N1\n\n- Steps: 1\/1 committed; 1 commit on tandem\/N1\n- Cost \$0\.00, time \S+\n- Validation: pass, confidence 1\n\n\(summary from the task record; no local model configured\)\n$/,
    );
    const events = await loggedEvents(h.inbox, 'N1');
    expect(events.filter((e) => e.type === 'task.state').map((e) => e.state)).toEqual([
      'NEW',
      'PLANNING',
      'PLAN_REVIEW',
      'PLANNED',
      'IMPLEMENTING',
      'CODE_REVIEW',
      'QUALITY_GATE',
      'STEP_COMPLETE',
      'VALIDATING',
      'DONE',
    ]);
    expect(events.at(-1)).toMatchObject({ type: 'task.finished', state: 'DONE' });
  });

  it("tries a claimed file again when processing fails for a reason that is not the file's, and runs it once it works", async () => {
    let failures = 1;
    h = await startHarness({
      resolve: (own) => (tasks) => (failures-- > 0 ? Promise.reject(new Error('git: cannot lock ref (simulated)')) : own(tasks)),
    });
    await writeFile(join(h.inbox, 'flaky.task.md'), taskFile('F1'));
    await waitUntil('a retry to be scheduled', () => Promise.resolve((h?.watcher.stats().retrying ?? 0) === 1));
    expect(await h.list('.claimed/w-test')).toEqual([expect.stringMatching(/--flaky\.task\.md$/)]);
    await waitUntil('the file to be processed', async () => (await h?.list('processed'))?.includes('flaky.task.md') ?? false);
    await h.watcher.idle();
    expect((await h.runtime.get('F1'))?.state).toBe('DONE');
    expect(h.watcher.stats()).toMatchObject({ claimed: 1, rejected: 0, failed: 0, retrying: 0 });
    expect(await h.list('rejected')).toEqual([]);
  });

  it('gives up on a claimed file that keeps failing: rejected/ with the error, nothing run, and idle() returns', async () => {
    h = await startHarness({ resolve: () => () => Promise.reject(new Error('the store is unavailable (simulated)')), maxClaimTries: 3 });
    await writeFile(join(h.inbox, 'doomed.task.md'), taskFile('D1'));
    await waitUntil('the file to be given up', async () => (await h?.list('rejected'))?.length === 2);
    await h.watcher.idle();
    expect(await h.list('rejected')).toEqual(['doomed.task.md', 'doomed.task.md.error.txt']);
    const error = await h.read('rejected', 'doomed.task.md.error.txt');
    expect(error).toContain('tandem could not process doomed.task.md (3 tries; the file itself may be fine)');
    expect(error).toContain('doomed.task.md: the store is unavailable (simulated)');
    expect(await h.list('.claimed/w-test')).toEqual([]);
    expect(await h.runtime.get('D1')).toBeUndefined();
    expect(h.watcher.stats()).toMatchObject({ claimed: 1, rejected: 1, failed: 1, retrying: 0 });
  });

  it('moves an invalid file to rejected/ with an error naming line and field, and runs nothing', async () => {
    h = await startHarness();
    await writeFile(join(h.inbox, 'bad.task.md'), taskFile('B1', 'Do it.', { risk: 'extreme', colour: 'blue' }));
    await waitUntil('the rejection', async () => (await h?.list('rejected'))?.length === 2);
    expect(await h.list('rejected')).toEqual(['bad.task.md', 'bad.task.md.error.txt']);
    expect(await h.read('rejected', 'bad.task.md.error.txt')).toBe(
      [
        'tandem did not accept bad.task.md; fix it and drop it into the folder again.',
        '',
        'bad.task.md:3:7: risk: unknown risk `extreme` (allowed: high, medium, low)',
        'bad.task.md:4:1: colour: unknown front-matter field `colour` (known: id, type, priority, created, risk, area, repo, base, budget_usd, constraints, context_files, time_limit_minutes)',
        '',
      ].join('\n'),
    );
    expect(await h.runtime.list()).toEqual([]);
    expect(h.runner.calls()).toEqual([]);
  });

  it('runs every task of a tasks.yaml and rejects a later file that reuses one of their ids', async () => {
    h = await startHarness();
    await writeFile(join(h.inbox, 'tasks.yaml'), 'tasks:\n  - id: Y1\n    goal: first\n  - id: Y2\n    goal: second\n    priority: high\n');
    await waitUntil('the yaml to be processed', async () => (await h?.list('processed'))?.includes('tasks.yaml') ?? false);
    await writeFile(join(h.inbox, 'again.task.md'), taskFile('Y2'));
    await waitUntil('the duplicate to be rejected', async () => (await h?.list('rejected'))?.length === 2);
    expect(await h.list('results')).toEqual(['Y1.md', 'Y2.md']);
    expect(await h.read('rejected', 'again.task.md.error.txt')).toContain(
      'again.task.md:2: id: a task with id Y2 already exists (state DONE); give this one another id',
    );
  });

  it('leaves files that are not task files, or still being written under a temporary name, alone', async () => {
    h = await startHarness();
    await writeFile(join(h.inbox, 'notes.md'), '# notes\n');
    await writeFile(join(h.inbox, 'next.task.md.part'), taskFile('P1'));
    await writeFile(join(h.inbox, '.hidden.task.md'), taskFile('P2'));
    await writeFile(join(h.inbox, 'real.task.md'), taskFile('P3'));
    await waitUntil('the real file to be processed', async () => (await h?.list('processed'))?.includes('real.task.md') ?? false);
    expect((await h.list()).filter((n) => n.includes('.'))).toEqual(['.claimed', '.hidden.task.md', 'next.task.md.part', 'notes.md']);
    expect((await h.runtime.list()).map((r) => r.id)).toEqual(['P3']);
  });

  it("writes the mediator's summary when the local model answers, and the template when it does not", async () => {
    ollama = await startFakeOllama({ models: ['llama3.1:8b'] });
    ollama.reply(
      {
        content: JSON.stringify({
          status: 'SUCCESS',
          accomplished: 'The note for M1 was written and committed.',
          key_points: ['one step'],
          next_steps: ['merge tandem/M1'],
        }),
      },
      { status: 500, error: 'out of memory' },
    );
    const mediator = createMediator({ model: createOllamaMediatorModel({ host: ollama.url, model: 'llama3.1:8b' }), listFiles: () => Promise.resolve([]) });
    h = await startHarness({ mediator });
    await writeFile(join(h.inbox, 'm1.task.md'), taskFile('M1'));
    await waitUntil('M1 summary', async () => (await h?.list('summaries'))?.includes('M1.md') ?? false);
    await h.watcher.idle();
    expect(await h.read('summaries', 'M1.md')).toBe(
      `SUCCESS: The note for M1 was written and committed.\n\n- one step\n\nNext steps:\n- merge tandem/M1\n\n(summary by llama3.1:8b at ${ollama.url}, checked against the task record)\n`,
    );
    await writeFile(join(h.inbox, 'm2.task.md'), taskFile('M2'));
    await waitUntil('M2 summary', async () => (await h?.list('summaries'))?.includes('M2.md') ?? false);
    await h.watcher.idle();
    expect(await h.read('summaries', 'M2.md')).toContain('(summary from the task record; the local model is not reachable)');
  });

  it('reports a task that waits for a person, keeps its file claimed, and finishes it after the decision', async () => {
    h = await startHarness({
      script: {
        defaults: approveAll.defaults,
        tasks: { H1: { 'plan-reviewer': [{ respond: { status: 'rejected', review: { concerns: ['no test step'] } } }, { respond: { status: 'approved' } }] } },
      },
    });
    await writeFile(join(h.inbox, 'h1.task.md'), taskFile('H1'));
    await waitUntil('H1 to wait', async () => (await h?.runtime.get('H1'))?.state === 'AWAITING_HUMAN_REVIEW');
    await h.watcher.idle();
    const waiting = await h.read('results', 'H1.md');
    expect(waiting).toContain('| State | AWAITING_HUMAN_REVIEW |');
    expect(waiting).toContain('## Waiting for a person');
    expect(await h.read('summaries', 'H1.md')).toContain('WAITING: H1 waits for a person');
    expect((await h.list('.claimed/w-test')).length).toBe(2);
    expect(await h.list('processed')).toEqual([]);
    await h.runtime.decide('H1', { decision: 'approve' });
    await waitUntil('H1 to be processed', async () => (await h?.list('processed'))?.includes('h1.task.md') ?? false);
    await h.watcher.idle();
    expect(await h.read('results', 'H1.md')).toContain('| State | DONE |');
    expect(await h.list('.claimed/w-test')).toEqual([]);
  });
});
