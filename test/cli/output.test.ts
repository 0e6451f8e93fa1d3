import { describe, expect, it } from 'vitest';
import { humanLogStream, jsonEventLine, jsonFinishedLine, useColor } from '../../src/cli/output.js';

describe('human output', () => {
  it('color only at a terminal, never with --no-color or a non-empty NO_COLOR', () => {
    const tty = { isTTY: true };
    expect(useColor({ env: {} }, tty, {})).toBe(true);
    expect(useColor({ env: {} }, { isTTY: false }, {})).toBe(false);
    expect(useColor({ env: {} }, tty, { color: false })).toBe(false);
    expect(useColor({ env: { NO_COLOR: '1' } }, tty, {})).toBe(false);
    expect(useColor({ env: { NO_COLOR: '' } }, tty, {})).toBe(true);
  });

  it('a JSON log line becomes one readable line with its context and details', () => {
    let out = '';
    const stream = humanLogStream((t) => (out += t), false);
    stream.write(
      `${JSON.stringify({ level: 40, time: 1, msg: 'could not remove the worktree of a finished task', task: 'T1', step: null, role: null, model: null, err: { message: 'EBUSY: resource busy' }, path: '/tmp/w' })}\n`,
    );
    stream.write(
      `${JSON.stringify({ level: 50, time: 2, msg: 'could not persist the task; stopping it', task: 'T2', step: 'S1', role: 'implementer', model: 'gpt-5-codex' })}\n`,
    );
    expect(out).toBe(
      'tandem: warning: could not remove the worktree of a finished task [task T1] (EBUSY: resource busy; path=/tmp/w)\n' +
        'tandem: error: could not persist the task; stopping it [task T2 · step S1 · role implementer · model gpt-5-codex]\n',
    );
    let colored = '';
    humanLogStream((t) => (colored += t), true).write(JSON.stringify({ level: 40, msg: 'm' }));
    expect(colored).toBe('tandem: \u001b[33mwarning\u001b[39m: m\n');
  });

  it('--json lines carry v: 1; the last one has the exit code and outcomes', () => {
    const line = jsonEventLine({ type: 'task.state', taskId: 'T1', at: 5, state: 'PLANNING', attempt: 1 });
    expect(JSON.parse(line)).toEqual({ v: 1, type: 'task.state', taskId: 'T1', at: 5, state: 'PLANNING', attempt: 1 });
    expect(line.endsWith('\n') && !line.slice(0, -1).includes('\n')).toBe(true);
    const last = JSON.parse(jsonFinishedLine([{ id: 'T1', state: 'DONE', commits: [], costUsd: 0, estimatedCostUsd: 0, durationMs: 9 }], 0, false)) as Record<
      string,
      unknown
    >;
    expect(last).toMatchObject({ v: 1, type: 'run.finished', exit_code: 0, interrupted: false, tasks: [{ id: 'T1', state: 'DONE' }] });
  });
});

describe('hints keep their context', () => {
  it('`submit` suggests following the events on the NATS servers it used, without credentials', async () => {
    const { natsArgument } = await import('../../src/cli/nats-commands.js');
    const { loadConfig } = await import('../../src/config/load-config.js');
    const loaded = loadConfig({ env: {}, argv: { nats: 'nats://alice:secret@10.0.0.5:4333,nats://10.0.0.6:4222' }, cwd: '/' });
    expect(natsArgument(loaded)).toBe('--nats nats://10.0.0.5:4333,nats://10.0.0.6:4222');
    expect(natsArgument(loadConfig({ env: {}, argv: {}, cwd: '/' }))).toBe('--nats');
  });
});
