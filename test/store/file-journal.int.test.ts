import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listSegments, openJournal, readSegmentLines, segmentName, type Journal, type JournalOptions } from '../../src/store/file-journal.js';

const line = (n: number, pad = 0): string => `${JSON.stringify({ n, pad: 'x'.repeat(pad) })}\n`;

async function waitUntil(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('openJournal', () => {
  let dir: string;
  let journal: Journal | undefined;
  const retired: string[][] = [];

  const open = async (options: Partial<JournalOptions> = {}): Promise<Journal> => {
    journal = await openJournal({
      dir,
      firstSegment: 1,
      retire: (segments) => {
        retired.push(segments.map((s) => s.slice(dir.length + 1)));
        return Promise.resolve();
      },
      ...options,
    });
    return journal;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tandem-journal-'));
    retired.length = 0;
  });

  afterEach(async () => {
    await journal?.close().catch(() => undefined);
    journal = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('commits 256 concurrent appends with a few fdatasyncs, every line in order', async () => {
    const j = await open();
    await Promise.all(Array.from({ length: 256 }, (_, i) => j.append(line(i))));
    expect(j.flushes).toBeLessThanOrEqual(2);
    const [segment] = await listSegments(dir);
    expect(await readSegmentLines(segment?.path ?? '')).toEqual(Array.from({ length: 256 }, (_, i) => line(i).trimEnd()));
  });

  it('gives appends that wait for each other a flush each', async () => {
    const j = await open();
    for (let i = 0; i < 5; i++) await j.append(line(i));
    expect(j.flushes).toBe(5);
  });

  it('prepares each segment as zeros, so the data of a segment ends at its first zero byte', async () => {
    const j = await open();
    await j.append(line(1));
    const data = await readFile(join(dir, segmentName(1)));
    expect(data.length).toBeGreaterThan(64 * 1024);
    expect(data.subarray(0, line(1).length).toString()).toBe(line(1));
    expect(data.subarray(line(1).length).every((byte) => byte === 0)).toBe(true);
  });

  it('reads only whole lines: a torn last write and the zeros after it are left out', async () => {
    const path = join(dir, segmentName(7));
    await writeFile(path, Buffer.concat([Buffer.from(`${line(1)}${line(2)}{"n":3,"pa`), Buffer.alloc(100)]));
    expect(await readSegmentLines(path)).toEqual([line(1).trimEnd(), line(2).trimEnd()]);
    await writeFile(path, Buffer.alloc(100));
    expect(await readSegmentLines(path)).toEqual([]);
    await writeFile(path, line(1));
    expect(await readSegmentLines(path)).toEqual([line(1).trimEnd()]);
  });

  it('moves to the next segment when a batch does not fit, retires closed segments, and close retires the rest', async () => {
    const j = await open({ segmentBytes: 16 * 1024, retireAfterMs: 0 });
    for (let i = 0; i < 12; i++) await j.append(line(i, 3000));
    await waitUntil(() => retired.length > 0, 'a retirement');
    expect(retired[0]).toEqual([segmentName(1)]);
    const left = (await listSegments(dir)).map((s) => s.number);
    expect(left).not.toContain(1);
    await j.close();
    expect(retired.flat()).toEqual(expect.arrayContaining([segmentName(1), segmentName(2), segmentName(3)]));
    await expect(readdir(dir)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('gives a batch larger than a segment a segment of its own size', async () => {
    const j = await open({ segmentBytes: 4096 });
    await j.append(line(1));
    const big = line(2, 20_000);
    await j.append(big);
    const segments = await listSegments(dir);
    const lines = (await Promise.all(segments.map((s) => readSegmentLines(s.path)))).flat();
    expect(lines).toEqual([line(1).trimEnd(), big.trimEnd()]);
  });

  it('waits before retiring a closed segment, unless too many are waiting', async () => {
    const j = await open({ segmentBytes: 8 * 1024, retireAfterMs: 60_000, maxClosedSegments: 2 });
    for (let i = 0; i < 6; i++) await j.append(line(i, 6000));
    await waitUntil(() => retired.length > 0, 'a forced retirement');
    expect(retired.flat()[0]).toBe(segmentName(1));
    expect((await listSegments(dir)).length).toBeGreaterThanOrEqual(3);
  });

  it('keeps a segment whose retirement failed, reports it, and retires it later', async () => {
    const errors: unknown[] = [];
    let fail = true;
    const j = await open({
      segmentBytes: 8 * 1024,
      retireAfterMs: 0,
      retire: () => (fail ? Promise.reject(new Error('disk on fire')) : Promise.resolve()),
      onRetireError: (error) => errors.push(error),
    });
    for (let i = 0; i < 3; i++) await j.append(line(i, 6000));
    await waitUntil(() => errors.length > 0, 'the reported failure');
    expect((await listSegments(dir)).map((s) => s.number)).toContain(1);
    fail = false;
    await j.close();
    await expect(readdir(dir)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses appends after close', async () => {
    const j = await open();
    await j.close();
    await expect(j.append(line(1))).rejects.toThrow('the journal is closed');
  });
});
