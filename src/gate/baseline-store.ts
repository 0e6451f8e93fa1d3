import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { GateCheckConfig } from '../gate/gate-options.js';
import { ParsedOutputSchema } from './parsers/parsed-output.js';

/** One check measured on the base commit. */
const BaselineEntrySchema = z.object({
  /** Hash of the check's definition: a changed command is measured again. */
  key: z.string(),
  exit_code: z.number().int().nullable(),
  output: ParsedOutputSchema.optional(),
  /** Why the base could not be measured (its output unreadable, say): the step is then judged on its own. */
  error: z.string().optional(),
});
export type BaselineEntry = z.infer<typeof BaselineEntrySchema>;

const BaselineFileSchema = z.object({
  commit: z.string(),
  checks: z.record(z.string(), BaselineEntrySchema),
});
type BaselineFile = z.infer<typeof BaselineFileSchema>;

/** Measures the given checks on the base commit; entries it leaves out, or with an `error`, are not cached. */
type MeasureBase = (checks: readonly GateCheckConfig[]) => Promise<Map<string, BaselineEntry>>;

export interface BaselineStore {
  /** The base's entry for every check, measuring (once per commit and check definition) what is missing. */
  get(commit: string, checks: readonly GateCheckConfig[], measure: MeasureBase): Promise<Map<string, BaselineEntry>>;
}

export function baselineKey(check: GateCheckConfig): string {
  const { command, parser, report, coverage, entries } = check;
  return createHash('sha256').update(JSON.stringify({ command, parser, report, coverage, entries })).digest('hex').slice(0, 16);
}

/**
 * Baselines cached by commit sha: `<dir>/<sha>.json` when a folder is given (shared by every task
 * on that base and kept across restarts), else in memory. Measuring one commit is serialized
 * within the process, so parallel tasks on one base measure it once; files are replaced atomically.
 */
export function createBaselineStore(options: { dir?: string | undefined } = {}): BaselineStore {
  const memory = new Map<string, BaselineFile>();
  const locks = new Map<string, Promise<unknown>>();

  const load = async (commit: string): Promise<BaselineFile> => {
    const cached = memory.get(commit);
    if (options.dir === undefined) return cached ?? { commit, checks: {} };
    const text = await readFile(join(options.dir, `${commit}.json`), 'utf8').catch(() => undefined);
    if (text === undefined) return cached ?? { commit, checks: {} };
    try {
      const file = BaselineFileSchema.parse(JSON.parse(text));
      // Entries with an error were never valid measurements (older versions cached them): measured again.
      const checks = Object.fromEntries(Object.entries(file.checks).filter(([, entry]) => entry.error === undefined));
      return file.commit === commit ? { commit, checks } : { commit, checks: {} };
    } catch {
      // A corrupt cache is measured again rather than trusted.
      return { commit, checks: {} };
    }
  };

  const save = async (file: BaselineFile): Promise<void> => {
    memory.set(file.commit, file);
    if (options.dir === undefined) return;
    await mkdir(options.dir, { recursive: true });
    const target = join(options.dir, `${file.commit}.json`);
    const temp = `${target}.${process.pid}.${randomUUID()}.tmp`;
    try {
      await writeFile(temp, `${JSON.stringify(file)}\n`);
      await rename(temp, target);
    } finally {
      await rm(temp, { force: true });
    }
  };

  const get = async (commit: string, checks: readonly GateCheckConfig[], measure: MeasureBase): Promise<Map<string, BaselineEntry>> => {
    let file = await load(commit);
    const fresh = (check: GateCheckConfig): BaselineEntry | undefined => {
      const entry = file.checks[check.name];
      return entry?.key === baselineKey(check) ? entry : undefined;
    };
    const missing = checks.filter((check) => fresh(check) === undefined);
    // What this run measured but must not keep: a base that could not be measured is asked again next time.
    const unkept = new Map<string, BaselineEntry>();
    if (missing.length > 0) {
      const measured = await measure(missing);
      const kept = [...measured].filter(([, entry]) => entry.error === undefined);
      for (const [name, entry] of measured) if (entry.error !== undefined) unkept.set(name, entry);
      if (kept.length > 0) {
        // Another process may have added checks meanwhile: merge into what is on disk now.
        file = await load(commit);
        const merged: BaselineFile = { commit, checks: { ...file.checks } };
        for (const [name, entry] of kept) merged.checks[name] = entry;
        await save(merged);
        file = merged;
      }
    }
    const result = new Map<string, BaselineEntry>();
    for (const check of checks) {
      const entry = fresh(check) ?? unkept.get(check.name);
      if (entry !== undefined) result.set(check.name, entry);
    }
    return result;
  };

  return {
    async get(commit, checks, measure) {
      const previous = locks.get(commit) ?? Promise.resolve();
      const next = previous.catch(() => undefined).then(() => get(commit, checks, measure));
      locks.set(commit, next);
      try {
        return await next;
      } finally {
        if (locks.get(commit) === next) locks.delete(commit);
      }
    },
  };
}
