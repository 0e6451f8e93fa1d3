import { writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Linux limits one argument to 128 KiB (MAX_ARG_STRLEN); a planner prompt with a repository snapshot
 * can exceed it. Such prompts go through a file read as stdin instead.
 */
const MAX_PROMPT_ARG_BYTES = 96 * 1024;

export type PromptInput = { readonly via: 'arg'; readonly prompt: string } | { readonly via: 'stdin'; readonly file: string };

export async function promptInput(prompt: string, scratch: string): Promise<PromptInput> {
  if (Buffer.byteLength(prompt) <= MAX_PROMPT_ARG_BYTES) return { via: 'arg', prompt };
  const file = path.join(scratch, 'prompt.txt');
  await writeFile(file, prompt, 'utf8');
  return { via: 'stdin', file };
}

/**
 * The schema without its `$schema` key: zod writes draft 2020-12 there, and Claude Code 2.1.330 rejects
 * a `--json-schema` naming a draft its validator does not know ("no schema with key or ref").
 */
export function withoutMetaSchema(schema: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const { $schema: _meta, ...rest } = schema;
  return rest;
}
