import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StatusReportSchema } from '../../src/model/task-status.js';
import { startTandem, stopAllTandems } from '../helpers/tandem-process.js';

/**
 * One source of numbers (real processes, the demo): progress, the run's summary and `status` agree on
 * attempts, plan rounds and model calls. DEMO-2's plan is approved in round 2 and its S1 on attempt 2;
 * DEMO-3's only step passes on attempt 2.
 */
describe('honest numbers', () => {
  let dir: string | undefined;
  afterEach(async () => {
    stopAllTandems();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('PLANNED names the plan round it closes; summary and status agree on calls and attempts', async () => {
    dir = await mkdtemp(join(tmpdir(), 'tandem-numbers-'));
    const demo = startTandem(['demo', '--dir', join(dir, 'demo')], { cwd: dir });
    expect(await demo.exited, demo.output()).toBe(0);
    const out = demo.output();
    expect(out).toMatch(/DEMO-2 +PLAN_REVIEW +attempt 2$/m);
    expect(out).toMatch(/DEMO-2 +PLANNED +plan round 2$/m);
    expect(out).not.toMatch(/PLANNED +attempt/);
    const state = /^state dir: +(\S+)$/m.exec(out)?.[1] ?? '';
    const status = startTandem(['status', '--json', '--state-dir', state], { cwd: dir });
    expect(await status.exited, status.output()).toBe(0);
    const tasks = StatusReportSchema.parse(JSON.parse(status.output())).tasks;
    const byId = new Map(tasks.map((t) => [t.id, t]));
    expect(tasks.map((t) => t.id)).toEqual(['DEMO-1', 'DEMO-2', 'DEMO-3', 'DEMO-4']);
    expect(byId.get('DEMO-2')).toMatchObject({ state: 'DONE', plan_rounds: 2, step_attempts: { S1: 2, S2: 1 }, waiting_ms: 0 });
    expect(byId.get('DEMO-3')).toMatchObject({ state: 'DONE', attempt: 2, step_attempts: { S1: 2 } });
    for (const task of tasks) {
      // The summary's MODEL CALLS column is the ledger's count that status shows.
      expect(out).toMatch(new RegExp(`^${task.id} +DONE +\\d+/\\d+ +${task.model_calls} `, 'm'));
    }
    const table = startTandem(['status', '--state-dir', state], { cwd: dir });
    expect(await table.exited).toBe(0);
    expect(table.output()).toMatch(/^DEMO-3 +DONE +1\/1 +2 +8 /m);
  }, 90_000);
});
