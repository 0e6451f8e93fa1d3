import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { StreamOutcome, StreamParser, StreamSignal } from '../../../src/runners/cli-stream.js';
import { repoRoot } from './e2e-kit.js';

/** Output recorded from a real CLI by its e2e suite (RECORD=1), never written by hand. */
export interface CliFixture {
  readonly stdoutLines: readonly string[];
  readonly stderr: string;
  readonly exitCode: number | null;
  readonly args: readonly string[];
}

export function loadCliFixture(cli: 'claude' | 'gemini' | 'codex', name: string): CliFixture {
  const base = path.join(repoRoot, 'test/fixtures/cli-output', cli, name);
  const meta = JSON.parse(readFileSync(`${base}.meta.json`, 'utf8')) as { exitCode: number | null; args: string[] };
  const stdout = readFileSync(`${base}.stdout.jsonl`, 'utf8');
  return {
    stdoutLines: stdout.split('\n').filter((l) => l.trim() !== ''),
    stderr: readFileSync(`${base}.stderr.txt`, 'utf8'),
    exitCode: meta.exitCode,
    args: meta.args,
  };
}

/** Feeds a fixture through a parser the way the runner does: JSON lines in order, then the exit. */
export function replay(parser: StreamParser, fixture: CliFixture, now = 0): { signals: StreamSignal[]; outcome: StreamOutcome; nonJson: string[] } {
  const signals: StreamSignal[] = [];
  const nonJson: string[] = [];
  for (const line of fixture.stdoutLines) {
    let event: unknown;
    try {
      event = JSON.parse(line) as unknown;
    } catch {
      nonJson.push(line);
      continue;
    }
    signals.push(...parser.feed(event));
  }
  return { signals, outcome: parser.finish({ exitCode: fixture.exitCode, stderr: fixture.stderr, now }), nonJson };
}
