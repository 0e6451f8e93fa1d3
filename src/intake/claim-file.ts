import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, writeFile, link } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Claiming files of a watched folder. A file is taken by renaming it into the claimer's own folder
 * `<dir>/.claimed/<owner>/`: rename is atomic, so of two watchers exactly one gets it (the other
 * sees ENOENT), and the claim and its owner are one fact on disk. The owner is derived from the
 * state dir, so a watcher restarted on the same state dir finds its own unfinished claims and
 * nobody else's.
 */

export interface WatchPaths {
  readonly inbox: string;
  /** This watcher's claims. */
  readonly claims: string;
  readonly rejected: string;
  readonly results: string;
  readonly summaries: string;
  readonly logs: string;
  /** Task files whose tasks all finished. */
  readonly processed: string;
}

export function watchPaths(dir: string, owner: string): WatchPaths {
  return {
    inbox: dir,
    claims: join(dir, '.claimed', owner),
    rejected: join(dir, 'rejected'),
    results: join(dir, 'results'),
    summaries: join(dir, 'summaries'),
    logs: join(dir, 'logs'),
    processed: join(dir, 'processed'),
  };
}

/** A stable name for the claims of one state dir. */
export function ownerIdOf(stateDir: string): string {
  return `w-${createHash('sha256').update(stateDir).digest('hex').slice(0, 12)}`;
}

const TASK_FILE = /^(?:.+\.task\.md|tasks\.ya?ml|.+\.tasks\.ya?ml)$/i;
/** Names writers use while a file is not complete yet; they are renamed in when it is. */
const IN_PROGRESS = /(?:\.tmp|\.part|\.partial|\.swp|\.crdownload|~)$/i;

export function isTaskFileName(name: string): boolean {
  return !name.startsWith('.') && !IN_PROGRESS.test(name) && TASK_FILE.test(name);
}

export interface FileStamp {
  readonly size: number;
  readonly mtimeMs: number;
}

/**
 * A file is ready once its size and mtime have not changed for `settleMs`, so a file still being
 * written in pieces is never read half-way (writers that pause longer should write under a
 * temporary name and rename it in).
 */
export class SettleTracker {
  readonly #settleMs: number;
  readonly #seen = new Map<string, FileStamp & { readonly since: number }>();

  constructor(settleMs: number) {
    this.#settleMs = settleMs;
  }

  /** Feeds one scan of the inbox; returns the names that are ready, with the stamp they settled at. */
  observe(files: ReadonlyMap<string, FileStamp>, now: number): { name: string; stamp: FileStamp }[] {
    for (const name of this.#seen.keys()) if (!files.has(name)) this.#seen.delete(name);
    const ready: { name: string; stamp: FileStamp }[] = [];
    for (const [name, stamp] of files) {
      const before = this.#seen.get(name);
      if (!before || before.size !== stamp.size || before.mtimeMs !== stamp.mtimeMs) {
        this.#seen.set(name, { ...stamp, since: now });
        continue;
      }
      if (now - before.since >= this.#settleMs) ready.push({ name, stamp });
    }
    return ready;
  }

  forget(name: string): void {
    this.#seen.delete(name);
  }

  get pending(): number {
    return this.#seen.size;
  }
}

function errnoCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

/** The task files waiting in the inbox, with their size and mtime. */
export async function scanInbox(inbox: string): Promise<{ files: Map<string, FileStamp>; ignored: string[] }> {
  const files = new Map<string, FileStamp>();
  const ignored: string[] = [];
  const entries = await readdir(inbox, { withFileTypes: true });
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    if (!isTaskFileName(entry.name)) {
      if (!entry.name.startsWith('.') && !IN_PROGRESS.test(entry.name)) ignored.push(entry.name);
      continue;
    }
    try {
      const s = await stat(join(inbox, entry.name));
      files.set(entry.name, { size: s.size, mtimeMs: s.mtimeMs });
    } catch (error) {
      // Taken by another watcher between readdir and stat.
      if (errnoCode(error) !== 'ENOENT') throw error;
    }
  }
  return { files, ignored };
}

export interface ClaimedFile {
  /** Absolute path in the claims folder. */
  readonly path: string;
  /** The name the file had in the inbox. */
  readonly name: string;
}

const SEPARATOR = '--';

export function claimedNameOf(path: string): string {
  const base = basename(path);
  const at = base.indexOf(SEPARATOR);
  return at === -1 ? base : base.slice(at + SEPARATOR.length);
}

/**
 * Takes `name` from the inbox, or returns undefined when another watcher was faster. The claimed
 * name is unique (a time and random prefix), so a later file of the same name never replaces it.
 */
export async function claimFile(paths: WatchPaths, name: string, now: number): Promise<ClaimedFile | undefined> {
  await mkdir(paths.claims, { recursive: true });
  const claimed = join(paths.claims, `${now.toString(36).padStart(9, '0')}-${randomBytes(3).toString('hex')}${SEPARATOR}${name}`);
  try {
    await rename(join(paths.inbox, name), claimed);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  }
  return { path: claimed, name };
}

const INTENT_SUFFIX = '.intent.json';

export function intentPath(claim: ClaimedFile): string {
  return `${claim.path}${INTENT_SUFFIX}`;
}

/** This watcher's claims from an earlier life, oldest first; leftovers of finished claims are removed. */
export async function listClaims(paths: WatchPaths): Promise<ClaimedFile[]> {
  const names = await readdir(paths.claims).catch((error: unknown) => {
    if (errnoCode(error) === 'ENOENT') return [] as string[];
    throw error;
  });
  const files = new Set(names.filter((n) => !n.endsWith(INTENT_SUFFIX) && !n.startsWith('.')));
  for (const n of names) {
    if (n.endsWith(INTENT_SUFFIX) && !files.has(n.slice(0, -INTENT_SUFFIX.length))) await rm(join(paths.claims, n), { force: true });
  }
  return [...files].sort().map((n) => ({ path: join(paths.claims, n), name: claimedNameOf(n) }));
}

/** Splits `x.task.md` into `x` and `.task.md` so a numbered copy reads `x.2.task.md`. */
function splitName(name: string): { stem: string; ext: string } {
  const match = /^(.*?)((?:\.tasks?)?\.(?:md|ya?ml))$/i.exec(name);
  return match ? { stem: match[1] ?? name, ext: match[2] ?? '' } : { stem: name, ext: '' };
}

/**
 * Links `from` into `dir` as `name`, or `name` numbered when that is taken (rename would silently
 * replace a file of the same name). The caller removes `from` once whatever belongs beside the new
 * file is written, so a crash in between leaves the claim to be handled again, never lost; handled
 * again, it finds its own earlier link instead of making a second copy.
 */
export async function linkUnique(from: string, dir: string, name: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const { stem, ext } = splitName(name);
  for (let n = 1; n <= 10_000; n++) {
    const target = join(dir, n === 1 ? name : `${stem}.${n}${ext}`);
    try {
      await link(from, target);
      return target;
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw error;
    }
    // Linked already by a life that died before removing `from`: the same file, not a new one.
    const [a, b] = await Promise.all([stat(from), stat(target)]);
    if (a.ino === b.ino && a.dev === b.dev) return target;
  }
  throw new Error(`no free name for ${name} in ${dir}`);
}

const TEMP = /^\..+\.(\d+)\.[0-9a-f]{6}\.tmp$/;

/** Readers never see a half-written result: write a hidden temporary file, then rename it over. */
export async function writeAtomic(path: string, text: string): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(3).toString('hex')}.tmp`);
  await writeFile(temp, text);
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoCode(error) === 'EPERM';
  }
}

/** Temporary files of writers that died (SIGKILL) before renaming them; a live writer's are left alone. */
export async function removeStaleTemps(dirs: readonly string[]): Promise<void> {
  for (const dir of dirs) {
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const pid = Number(TEMP.exec(name)?.[1] ?? Number.NaN);
      if (Number.isInteger(pid) && (pid === process.pid || !isAlive(pid))) await rm(join(dir, name), { force: true });
    }
  }
}
