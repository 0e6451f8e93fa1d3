import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { InputError } from '../platform/errors.js';
import type { CommonFlags } from './common-options.js';

/**
 * The runner choice of the last `tandem run` in a state dir, so that `tandem resume` and
 * `tandem review` continue tasks with the same runner and script without repeating the flags.
 */
const LastRunSchema = z.object({ runner: z.string().optional(), script: z.string().optional() });

export async function rememberRun(stateDir: string, run: { runner?: string | undefined; script?: string | undefined }): Promise<void> {
  if (run.runner === undefined && run.script === undefined) return;
  await mkdir(stateDir, { recursive: true });
  await writeFile(join(stateDir, 'last-run.json'), JSON.stringify({ runner: run.runner, script: run.script }));
}

export async function withLastRun(stateDir: string, flags: CommonFlags): Promise<CommonFlags> {
  if (flags.runner !== undefined || flags.script !== undefined) return flags;
  const file = join(stateDir, 'last-run.json');
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (!text) return flags;
  // Guessing here would silently switch a scripted run to the real CLIs, so a damaged file stops us.
  const parsed = LastRunSchema.safeParse(parseJson(text));
  if (!parsed.success) {
    const why = parsed.error.issues[0]?.message ?? 'unreadable';
    throw new InputError([{ file, message: `not a record of the last run (${why}); pass --runner (and --script) or delete the file` }]);
  }
  return { ...flags, ...(parsed.data.runner ? { runner: parsed.data.runner } : {}), ...(parsed.data.script ? { script: parsed.data.script } : {}) };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
