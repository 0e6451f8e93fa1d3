import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/telemetry/logger.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(
        ...chunk
          .toString()
          .split('\n')
          .filter((l) => l !== ''),
      );
      callback();
    },
  });
  return { lines, destination };
}

describe('createLogger', () => {
  it('writes JSON lines with the task context and redacts secrets', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ level: 'info', destination });
    logger
      .child({ task: 'T1', step: 'S1', role: 'implementer', model: 'm' })
      .info(
        { apiKey: 'sk-live-123', env: { ANTHROPIC_API_KEY: 'sk-ant-456', PATH: '/bin' }, nats: { password: 'hunter2', token: 'tok' } },
        'implementer started',
      );
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(line).toMatchObject({ task: 'T1', step: 'S1', role: 'implementer', model: 'm', msg: 'implementer started' });
    expect(line['apiKey']).toBe('[redacted]');
    expect(line['env']).toEqual({ ANTHROPIC_API_KEY: '[redacted]', PATH: '/bin' });
    expect(line['nats']).toEqual({ password: '[redacted]', token: '[redacted]' });
    expect(lines[0]).not.toMatch(/sk-live|sk-ant|hunter2/);
  });

  it('respects the level', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ level: 'warn', destination });
    logger.info('quiet');
    logger.warn('loud');
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['loud']);
  });
});

describe('createLogger redaction of service credentials', () => {
  it('redacts the Telegram bot token, NATS credentials and OTLP headers wherever a config nests them', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ level: 'info', destination });
    logger.info(
      {
        telegram: { bot_token: '123:ABC' },
        config: { nats: { password: 'pw', token: 'nt' }, notify: { botToken: 'xyz' } },
        nats: { creds: '-----BEGIN NATS USER JWT-----', nkey: 'SUAB' },
        env: { NATS_NKEY: 'SUAC', NATS_CREDS: '/run/creds', OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer x' },
      },
      'starting',
    );
    const line = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(line['telegram']).toEqual({ bot_token: '[redacted]' });
    expect(line['config']).toEqual({ nats: { password: '[redacted]', token: '[redacted]' }, notify: { botToken: '[redacted]' } });
    expect(line['nats']).toEqual({ creds: '[redacted]', nkey: '[redacted]' });
    expect(line['env']).toEqual({ NATS_NKEY: '[redacted]', NATS_CREDS: '[redacted]', OTEL_EXPORTER_OTLP_HEADERS: '[redacted]' });
  });

  it('puts task, step, role and model on every line, null where a line has none, never twice', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ level: 'info', destination, mixin: () => ({ trace_id: 't' }) });
    logger.info('starting');
    logger.info({ task: 'T1', state: 'PLANNING' }, 'task PLANNING');
    logger.child({ task: 'T2', role: 'planner' }).info({ model: 'claude-sonnet-4-5' }, 'planner started');
    logger.child({ task: 'T3', step: undefined }).info({ role: 'implementer', model: undefined }, 'implementer started');
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed.map((l) => [l['task'], l['step'], l['role'], l['model'], l['trace_id']])).toEqual([
      [null, null, null, null, 't'],
      ['T1', null, null, null, 't'],
      ['T2', null, 'planner', 'claude-sonnet-4-5', 't'],
      ['T3', null, 'implementer', null, 't'],
    ]);
    // The child's bound task is not repeated as null after it (JSON.parse keeps the last of two keys).
    expect(lines[2]?.match(/"task"/g)).toHaveLength(1);
    expect(lines[2]?.match(/"role"/g)).toHaveLength(1);
  });
});
