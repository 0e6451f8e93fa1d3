import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFileWriter, type FileWrite, type FileWriter } from '../../src/store/file-writer.js';

describe('createFileWriter', () => {
  let dir: string;
  let segment: string;
  let writer: FileWriter;
  /** Where each text is in the segment file the writer copies from. */
  const at = new Map<string, { offset: number; length: number }>();

  const copy = (name: string, text: string, temp = `.${name}.tmp`): FileWrite => {
    const where = at.get(text);
    if (!where) throw new Error(`no ${text} in the segment`);
    return { file: join(dir, name), temp: join(dir, temp), segment, ...where };
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tandem-file-writer-'));
    segment = join(dir, 'segment.log');
    const texts = ['one\n', 'two\n', 'b\n', 'ok\n', 'later\n', 'x'.repeat(10_000)];
    let offset = 0;
    at.clear();
    for (const text of texts) {
      at.set(text, { offset, length: Buffer.byteLength(text) });
      offset += Buffer.byteLength(text);
    }
    await writeFile(segment, texts.join(''));
    writer = createFileWriter();
  });

  afterEach(async () => {
    await writer.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('replaces files with bytes of a segment, through temp files, creating folders', async () => {
    await writer.write([copy('a.json', 'one\n'), copy(join('x', 'y', 'b.json'), 'b\n', join('x', 'y', '.b.json.tmp'))]);
    await writer.write([copy('a.json', 'two\n', '.a.json.2.tmp')]);
    expect(await readFile(join(dir, 'a.json'), 'utf8')).toBe('two\n');
    expect(await readFile(join(dir, 'x', 'y', 'b.json'), 'utf8')).toBe('b\n');
    expect((await readdir(dir)).sort()).toEqual(['a.json', 'segment.log', 'x']);
  });

  it('rejects with the first failure, removes its temp file, and keeps working', async () => {
    await mkdir(join(dir, 'taken.json', 'inside'), { recursive: true });
    const failing = writer.write([copy('ok.json', 'ok\n'), copy('taken.json', 'one\n'), copy('later.json', 'later\n')]);
    await expect(failing).rejects.toThrow();
    expect((await readdir(dir)).sort()).toEqual(['ok.json', 'segment.log', 'taken.json']);
    await writer.write([copy('later.json', 'later\n')]);
    expect(await readFile(join(dir, 'later.json'), 'utf8')).toBe('later\n');
  });

  it('fails writes that were not done when it closed', async () => {
    const big = 'x'.repeat(10_000);
    const writes = Array.from({ length: 50 }, (_, i) => writer.write([copy(`f${i}`, big)]));
    await writer.close();
    const results = await Promise.allSettled(writes);
    for (const result of results) if (result.status === 'rejected') expect(String(result.reason)).toMatch(/closed|exited/);
  });
});
