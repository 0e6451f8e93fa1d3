import { readFile } from 'node:fs/promises';
import { isAbsolute, join, normalize } from 'node:path';
import { z } from 'zod';

/** `standards`: the repository's coding standards (seed 002 §2.3–2.4), given to the implementer and the reviewers. */
export const StandardsSchema = z.strictObject({
  /** Written out, e.g. "No default exports; errors carry a code". */
  text: z.string().trim().min(1).optional(),
  /** Files of the repository that hold them (CONTRIBUTING.md, docs/STYLE.md), read from the task's worktree at each call. */
  files: z
    .array(
      z
        .string()
        .min(1)
        .refine((f) => !isAbsolute(f) && !normalize(f).startsWith('..'), 'must be a path inside the repository'),
    )
    .default([]),
});
export type Standards = z.infer<typeof StandardsSchema>;

/** How much of one standards file a prompt carries. */
const FILE_LIMIT = 12_000;

/**
 * The standards section of a prompt, read from the worktree (so a task that changes a standards
 * file is held to its own version); a file that is not there is named, never silently dropped.
 */
async function standardsSection(standards: Standards | undefined, worktree: string): Promise<string | undefined> {
  if (!standards || (standards.text === undefined && standards.files.length === 0)) return undefined;
  const parts = ["## The repository's coding standards (follow them; a reviewer holds the change to them)"];
  if (standards.text !== undefined) parts.push(standards.text);
  for (const file of standards.files) {
    const text = await readFile(join(worktree, file), 'utf8').catch(() => undefined);
    parts.push(
      text === undefined
        ? `(${file} is named as a standards file but is not in the repository)`
        : `### ${file}\n${text.length > FILE_LIMIT ? `${text.slice(0, FILE_LIMIT)}\n… [truncated]` : text}`,
    );
  }
  return parts.join('\n\n');
}

/** A role's prompt with the standards section added, when there is one. */
export async function withStandards(prompt: string, standards: Standards | undefined, worktree: string): Promise<string> {
  const section = await standardsSection(standards, worktree);
  return section === undefined ? prompt : `${prompt}\n\n${section}`;
}
