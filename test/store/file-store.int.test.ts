import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readSegmentLines } from '../../src/store/file-journal.js';
import { createFileStore } from '../../src/store/file-store.js';
import type { Store } from '../../src/store/store.js';
import { StoreError } from '../../src/platform/errors.js';
import { describeStoreConformance } from '../../src/testing/store-conformance.js';

const fileStoreModule = fileURLToPath(new URL('../../src/store/file-store.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const CHILD_TIMEOUT_MS = 30_000;

describeStoreConformance('file store', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tandem-file-store-'));
  const store = await createFileStore({ dir });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describeStoreConformance('file store (locked: journaled, group-committed)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tandem-file-store-'));
  const store = await createFileStore({ dir, lock: true });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

interface Child {
  readonly process: ChildProcess;
  readonly exited: Promise<void>;
  /** Resolves with stdout so far once `predicate` holds for it. */
  waitForOutput(predicate: (stdout: string) => boolean): Promise<string>;
  kill(): Promise<void>;
}

/**
 * Runs a module script in a real `node -e` child that loads the TypeScript source through tsx. It
 * leads its own process group, has a hard timeout, and is killed with its group.
 */
function startChild(script: string, env: Record<string, string>): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const listener of listeners) listener();
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killGroup = (): void => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
  const timer = setTimeout(killGroup, CHILD_TIMEOUT_MS);
  void exited.then(() => clearTimeout(timer));
  return {
    process: child,
    exited,
    waitForOutput: (predicate) =>
      new Promise<string>((resolve, reject) => {
        const check = (): void => {
          if (!predicate(stdout)) return;
          listeners.delete(check);
          resolve(stdout);
        };
        listeners.add(check);
        void exited.then(() => {
          listeners.delete(check);
          if (!predicate(stdout)) reject(new Error(`child exited before the expected output; stdout: ${stdout}; stderr: ${stderr}`));
        });
        check();
      }),
    kill: async () => {
      killGroup();
      await exited;
    },
  };
}

async function tempFilesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.filter((name) => name.endsWith('.tmp')).sort();
}

/** The pid of a process that has exited, so nothing live holds it. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.pid === undefined) throw new Error('no pid');
  return child.pid;
}

describe('createFileStore', () => {
  let dir: string;
  const opened: Store[] = [];
  const children: Child[] = [];

  const open = async (options: { lock?: boolean } = {}): Promise<Store> => {
    const store = await createFileStore({ dir, ...options });
    opened.push(store);
    return store;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tandem-file-store-'));
  });

  afterEach(async () => {
    for (const child of children.splice(0)) await child.kill();
    for (const store of opened.splice(0)) await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps one JSON file per key, at the path of its tokens', async () => {
    const store = await open();
    await store.put('tasks.DEMO-1', { state: 'PLANNING' });
    await store.put('tasks.DEMO-1', { state: 'PLANNED' });
    const text = await readFile(join(dir, 'tasks', 'DEMO-1.json'), 'utf8');
    expect(JSON.parse(text)).toEqual({ key: 'tasks.DEMO-1', revision: 2, value: { state: 'PLANNED' } });
    expect(await tempFilesUnder(dir)).toEqual([]);
  });

  it('creates its folder, nested ones included, when it does not exist yet', async () => {
    const nested = join(dir, 'state', 'store');
    const store = await createFileStore({ dir: nested });
    opened.push(store);
    await store.put('tasks.A', 'a');
    expect(JSON.parse(await readFile(join(nested, 'tasks', 'A.json'), 'utf8'))).toEqual({ key: 'tasks.A', revision: 1, value: 'a' });
  });

  it('finds everything again after a reopen, revisions and deletes included', async () => {
    const first = await open();
    await first.put('tasks.A', { n: 1 });
    await first.put('tasks.A', { n: 2 });
    await first.put('tasks.B.sub', 'b');
    await first.put('tasks.C', 'c');
    await first.delete('tasks.C');
    await first.close();

    const second = await open();
    expect(await second.list('tasks')).toEqual([
      { key: 'tasks.A', value: { n: 2 }, revision: 2 },
      { key: 'tasks.B.sub', value: 'b', revision: 1 },
    ]);
    expect(await second.put('tasks.A', { n: 3 }, { expectedRevision: 2 })).toBe(3);
    expect(await second.put('tasks.C', 'again', { expectedRevision: 0 })).toBe(3);
  });

  it('ignores a torn temp file left by a crashed writer, and removes it on open', async () => {
    const store = await open();
    await store.put('tasks.A', { n: 1 });
    await store.close();
    const pid = await deadPid();
    const torn = join(dir, 'tasks', `.A.json.${pid}.7.tmp`);
    await writeFile(torn, '{"key":"tasks.A","revision":2,"val');
    const reopened = await open();
    expect(await reopened.get('tasks.A')).toEqual({ key: 'tasks.A', value: { n: 1 }, revision: 1 });
    expect(await reopened.list('tasks')).toEqual([{ key: 'tasks.A', value: { n: 1 }, revision: 1 }]);
    expect(await tempFilesUnder(dir)).toEqual([]);
  });

  it('leaves the temp files of a live process alone when it holds no lock', async () => {
    const live = join(dir, `.A.json.${process.pid}.1.tmp`);
    await writeFile(live, '{');
    await open();
    expect(await tempFilesUnder(dir)).toEqual([`.A.json.${process.pid}.1.tmp`]);
  });

  it('reports a corrupt file as StoreError("corrupt") naming the file, on get, list and put', async () => {
    const store = await open();
    await store.put('tasks.A', 1);
    const file = join(dir, 'tasks', 'B.json');
    await writeFile(file, '{"key": "tasks.B", "revis');
    for (const operation of [() => store.get('tasks.B'), () => store.list('tasks'), () => store.put('tasks.B', 2)]) {
      const error: unknown = await operation().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(StoreError);
      expect(error).toMatchObject({ code: 'corrupt', retryable: false, message: expect.stringContaining(`${file}: not valid JSON`) as unknown });
    }
    await writeFile(file, JSON.stringify({ key: 'tasks.other', revision: 1, value: 1 }));
    await expect(store.get('tasks.B')).rejects.toThrow(`${file}: holds key "tasks.other", expected "tasks.B"`);
    await writeFile(file, JSON.stringify({ key: 'tasks.B', revision: 0, value: 1 }));
    await expect(store.get('tasks.B')).rejects.toThrow(`${file}: not a store record: revision: Too small`);
  });

  it('refuses to list past a file that is not a store entry', async () => {
    const store = await open();
    await store.put('tasks.A', 1);
    await writeFile(join(dir, 'tasks', 'notes.txt'), 'hello');
    await expect(store.list('tasks')).rejects.toMatchObject({
      code: 'corrupt',
      message: `${join(dir, 'tasks', 'notes.txt')}: not a store entry (expected <token>.json or a folder of them)`,
    });
  });

  it('makes 256 concurrent writes to one folder durable, with fsyncs grouped', async () => {
    const store = await open();
    const keys = Array.from({ length: 256 }, (_, i) => `tasks.K${i}`);
    const revisions = await Promise.all(keys.map((key, i) => store.put(key, { i })));
    expect(revisions).toEqual(keys.map(() => 1));
    await store.close();
    const reopened = await open();
    const listed = await reopened.list('tasks');
    expect(listed).toHaveLength(256);
    expect(listed.every((entry) => entry.value !== null && typeof entry.value === 'object' && entry.key === `tasks.K${(entry.value as { i: number }).i}`)).toBe(
      true,
    );
    expect(await tempFilesUnder(dir)).toEqual([]);
  });

  it('leaves only whole versions when the writing process is killed with SIGKILL mid-write', async () => {
    const writer = startChild(
      `import { createFileStore } from ${JSON.stringify(fileStoreModule)};
       const store = await createFileStore({ dir: process.env.STORE_DIR });
       const pad = 'x'.repeat(4000);
       for (let i = 0; i < 100000; i++) {
         await Promise.all(Array.from({ length: 8 }, (_, k) => store.put('crash.k' + k, { i, pad })));
         process.stdout.write(i + '\\n');
       }`,
      { STORE_DIR: dir },
    );
    children.push(writer);
    await writer.waitForOutput((out) => out.split('\n').length > 30);
    await writer.kill();

    const store = await open();
    const entries = await store.list('crash');
    expect(entries.map((e) => e.key)).toEqual(Array.from({ length: 8 }, (_, k) => `crash.k${k}`));
    for (const entry of entries) {
      const value = entry.value as { i: number; pad: string };
      // Each key is written once per round, so a whole version has revision = round + 1.
      expect(entry.revision).toBe(value.i + 1);
      expect(value.pad).toHaveLength(4000);
    }
    expect(await tempFilesUnder(dir)).toEqual([]);
  });

  it('refuses a folder locked by a live process, naming it, and takes the lock over once it died', async () => {
    const holder = startChild(
      `import { createFileStore } from ${JSON.stringify(fileStoreModule)};
       await createFileStore({ dir: process.env.STORE_DIR, lock: true });
       process.stdout.write('locked\\n');
       setInterval(() => {}, 1000);`,
      { STORE_DIR: dir },
    );
    children.push(holder);
    await holder.waitForOutput((out) => out.includes('locked'));
    const pid = holder.process.pid;

    const refused: unknown = await createFileStore({ dir, lock: true }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(StoreError);
    expect(refused).toMatchObject({
      code: 'unavailable',
      message: expect.stringContaining(`${dir} is in use by process ${pid} (lock file ${join(dir, '.lock')})`) as unknown,
    });

    await holder.kill();
    expect(await readFile(join(dir, '.lock'), 'utf8')).toBe(`${pid}\n`);
    const store = await open({ lock: true });
    expect(await readFile(join(dir, '.lock'), 'utf8')).toBe(`${process.pid}\n`);
    await store.put('tasks.A', 1);
    // A locked store commits through its journal folder; a clean close retires it and the lock.
    expect(await readdir(dir)).toEqual(expect.arrayContaining(['.journal', '.lock']));
    await store.close();
    expect((await readdir(dir)).sort()).toEqual(['tasks']);
  });

  it('refuses a second lock in the same process, and close releases it', async () => {
    const store = await open({ lock: true });
    await expect(createFileStore({ dir, lock: true })).rejects.toThrow(`${dir} is in use by process ${process.pid}`);
    await store.close();
    await expect(readFile(join(dir, '.lock'), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
    await open({ lock: true });
    expect(await readFile(join(dir, '.lock'), 'utf8')).toBe(`${process.pid}\n`);
  });

  it('takes over a stale lock of a dead pid, of our own pid from an earlier life, or without a pid', async () => {
    for (const content of [`${await deadPid()}\n`, `${process.pid}\n`, '']) {
      await writeFile(join(dir, '.lock'), content);
      const store = await createFileStore({ dir, lock: true });
      expect(await readFile(join(dir, '.lock'), 'utf8')).toBe(`${process.pid}\n`);
      await store.close();
    }
  });

  it('with the lock, shows every acknowledged write at once to a reader without it, before the files catch up', async () => {
    const writer = await open({ lock: true });
    await writer.put('tasks.A', { n: 1 });
    await writer.put('tasks.A', { n: 2 });
    await writer.put('ledger.T1.e1', { usd: 1 });
    await writer.delete('ledger.T1.e1');
    const reader = await open();
    expect(await reader.get('tasks.A')).toEqual({ key: 'tasks.A', value: { n: 2 }, revision: 2 });
    expect(await reader.list('tasks')).toEqual([{ key: 'tasks.A', value: { n: 2 }, revision: 2 }]);
    expect(await reader.list('ledger')).toEqual([]);
    expect(await writer.get('tasks.A')).toEqual({ key: 'tasks.A', value: { n: 2 }, revision: 2 });
    // The files follow shortly, and a clean close leaves every one of them current.
    await writer.close();
    expect(JSON.parse(await readFile(join(dir, 'tasks', 'A.json'), 'utf8'))).toEqual({ key: 'tasks.A', revision: 2, value: { n: 2 } });
    expect(JSON.parse(await readFile(join(dir, 'ledger', 'T1', 'e1.json'), 'utf8'))).toEqual({ key: 'ledger.T1.e1', revision: 2, deleted: true });
    expect(await readdir(dir)).toEqual(['ledger', 'tasks']);
  });

  it('with the lock, journals puts in the order they were issued, so a crash never keeps a later one without an earlier one', async () => {
    const store = await open({ lock: true });
    await store.put('tasks.T1', { state: 'IMPLEMENTING' });
    // A new key (its revision is looked up on disk) issued before a known one still goes first.
    await Promise.all([
      store.put('ledger.T1.e1', { usd: 1 }, { expectedRevision: 0 }),
      store.put('tasks.T1', { state: 'CODE_REVIEW' }, { expectedRevision: 1 }),
    ]);
    const [segment] = (await readdir(join(dir, '.journal'))).filter((name) => name.endsWith('.log')).sort();
    const keys = (await readSegmentLines(join(dir, '.journal', segment ?? ''))).map((line) => (JSON.parse(line) as { key: string }).key);
    expect(keys).toEqual(['tasks.T1', 'ledger.T1.e1', 'tasks.T1']);
  });

  it('with the lock, retires journal segments as it goes and keeps everything across a reopen', async () => {
    const store = await createFileStore({ dir, lock: true, journal: { segmentBytes: 16 * 1024, retireAfterMs: 0 } });
    opened.push(store);
    const pad = 'x'.repeat(1500);
    for (let round = 1; round <= 20; round++) await Promise.all(Array.from({ length: 16 }, (_, k) => store.put(`tasks.K${k}`, { round, pad })));
    // Closed segments are retired once their files are written (about 50 ms later): the current one and its spare stay.
    const segments = async (): Promise<number> => (await readdir(join(dir, '.journal'))).filter((name) => name.endsWith('.log')).length;
    for (const deadline = Date.now() + 10_000; (await segments()) > 2 && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await segments()).toBeLessThanOrEqual(2);
    await store.close();
    const reopened = await open({ lock: true });
    const listed = await reopened.list('tasks');
    expect(listed).toHaveLength(16);
    for (const entry of listed) expect(entry).toMatchObject({ revision: 20, value: { round: 20 } });
  });

  it('replays the journal a crash left: files behind it, missing or torn are rewritten; revisions go on from it', async () => {
    const record = (key: string, revision: number, value: unknown): string => `${JSON.stringify({ key, revision, value })}\n`;
    await mkdir(join(dir, 'tasks'), { recursive: true });
    await mkdir(join(dir, '.journal'));
    await writeFile(join(dir, 'tasks', 'A.json'), record('tasks.A', 2, 'two'));
    await writeFile(join(dir, 'tasks', 'C.json'), '{"key":"tasks.C","rev');
    await writeFile(join(dir, 'tasks', 'D.json'), record('tasks.D', 5, 'five'));
    const journaled = [
      record('tasks.A', 2, 'two'),
      record('tasks.A', 3, 'three'),
      record('tasks.B', 1, 'b'),
      record('tasks.C', 4, 'c'),
      record('tasks.D', 4, 'old'),
      `${JSON.stringify({ key: 'tasks.E', revision: 1, deleted: true })}\n`,
    ];
    await writeFile(
      join(dir, '.journal', '00000001.log'),
      Buffer.concat([Buffer.from(journaled.join('')), Buffer.from('{"key":"tasks.F","revision":1,"va'), Buffer.alloc(4096)]),
    );
    await writeFile(join(dir, '.journal', '00000002.log'), Buffer.concat([Buffer.from(record('tasks.G', 1, 'g')), Buffer.alloc(4096)]));

    const store = await open({ lock: true });
    expect(await store.list('tasks')).toEqual([
      { key: 'tasks.A', value: 'three', revision: 3 },
      { key: 'tasks.B', value: 'b', revision: 1 },
      { key: 'tasks.C', value: 'c', revision: 4 },
      { key: 'tasks.D', value: 'five', revision: 5 },
      { key: 'tasks.G', value: 'g', revision: 1 },
    ]);
    expect(JSON.parse(await readFile(join(dir, 'tasks', 'A.json'), 'utf8'))).toEqual({ key: 'tasks.A', revision: 3, value: 'three' });
    expect(JSON.parse(await readFile(join(dir, 'tasks', 'C.json'), 'utf8'))).toEqual({ key: 'tasks.C', revision: 4, value: 'c' });
    expect(await store.put('tasks.A', 'four', { expectedRevision: 3 })).toBe(4);
    expect(await store.put('tasks.E', 'e', { expectedRevision: 0 })).toBe(2);
    // The replayed segments are gone; the journal goes on in a new one.
    expect((await readdir(join(dir, '.journal'))).filter((name) => name.endsWith('.log')).sort()[0]).toBe('00000003.log');
  });

  it('lets a reader without the lock replay the journal of a crashed writer when the lock is free', async () => {
    await mkdir(join(dir, '.journal'), { recursive: true });
    await writeFile(join(dir, '.journal', '00000001.log'), `${JSON.stringify({ key: 'tasks.A', revision: 1, value: 'a' })}\n`);
    const reader = await open();
    expect(await reader.get('tasks.A')).toEqual({ key: 'tasks.A', value: 'a', revision: 1 });
    expect(JSON.parse(await readFile(join(dir, 'tasks', 'A.json'), 'utf8'))).toEqual({ key: 'tasks.A', revision: 1, value: 'a' });
    expect(await readdir(dir)).toEqual(['tasks']);
  });

  it('with the lock, keeps every acknowledged write and only whole versions when killed with SIGKILL', async () => {
    const writer = startChild(
      `import { createFileStore } from ${JSON.stringify(fileStoreModule)};
       const store = await createFileStore({ dir: process.env.STORE_DIR, lock: true, journal: { segmentBytes: 256 * 1024, retireAfterMs: 0 } });
       const pad = 'x'.repeat(4000);
       for (let i = 0; i < 100000; i++) {
         await Promise.all(Array.from({ length: 8 }, (_, k) => store.put('crash.k' + k, { i, pad })));
         process.stdout.write(i + '\\n');
       }`,
      { STORE_DIR: dir },
    );
    children.push(writer);
    const out = await writer.waitForOutput((text) => text.split('\n').length > 200);
    await writer.kill();
    const acknowledged = Math.max(
      ...out
        .split('\n')
        .filter((l) => l !== '')
        .map(Number),
    );

    const store = await open({ lock: true });
    const entries = await store.list('crash');
    expect(entries.map((e) => e.key)).toEqual(Array.from({ length: 8 }, (_, k) => `crash.k${k}`));
    for (const entry of entries) {
      const value = entry.value as { i: number; pad: string };
      expect(entry.revision).toBe(value.i + 1);
      expect(value.i).toBeGreaterThanOrEqual(acknowledged);
      expect(value.pad).toHaveLength(4000);
    }
    expect(await tempFilesUnder(dir)).toEqual([]);
  });

  it('removes every temp file on open when it holds the lock', async () => {
    await mkdir(join(dir, 'tasks'), { recursive: true });
    await writeFile(join(dir, 'tasks', `.A.json.${process.pid}.3.tmp`), '{');
    await open({ lock: true });
    expect(await tempFilesUnder(dir)).toEqual([]);
  });
});
