import { fileURLToPath } from 'node:url';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { stripVTControlCharacters } from 'node:util';

/**
 * A tool's file path made relative to the worktree root with `/` separators. Paths outside the root
 * stay absolute: they are not part of the change (a global type definition, say).
 */
export function relativePath(root: string, path: string): string {
  let file = path.trim();
  if (file.startsWith('file://')) file = fileURLToPath(file);
  const absolute = isAbsolute(file) ? file : resolve(root, file);
  const rel = relative(root, absolute);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return file.split(sep).join('/');
  return rel.split(sep).join('/');
}

/** Removes the worktree's own path from a message, so base and step messages read the same. */
export function withoutRoot(root: string, text: string): string {
  if (root === '' || root === '/') return text;
  const prefixes = [`file://${root}/`, `${root}/`, root];
  let out = text;
  for (const prefix of prefixes) out = out.split(prefix).join('');
  return out;
}

/** Stack frames of the test runner and of node itself: noise in an implementer's feedback. */
const RUNNER_FRAME = /node_modules[\\/]|node:internal|\(node:[a-z_]+:|^\s*at new Promise \(<anonymous>\)|^\s*(async )?Promise\.all \(index \d+\)$/;

/**
 * A failure message as feedback: colours removed, the worktree path removed, stack frames inside
 * the test runner and node itself dropped, at most `maxLines` lines.
 */
export function cleanFailureMessage(root: string, message: string, maxLines = 12): string {
  // Object addresses (`<Foo object at 0x7f…>`) change every run and would make equal failures differ.
  const lines = withoutRoot(root, stripVTControlCharacters(message))
    .replace(/\b0x[0-9a-fA-F]{6,}\b/g, '0x…')
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => !RUNNER_FRAME.test(line));
  while (lines.length > 0 && (lines[lines.length - 1] ?? '') === '') lines.pop();
  if (lines.length <= maxLines) return lines.join('\n');
  return [...lines.slice(0, maxLines), `… (${lines.length - maxLines} more lines)`].join('\n');
}

/** Two decimals, so that float noise never reads as a coverage drop. */
export function percent(covered: number, total: number): number {
  if (total <= 0) return 100;
  return Math.round((covered / total) * 10_000) / 100;
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** JSON that a tool may have surrounded with other output (a banner, a deprecation notice). */
export function parseEmbeddedJson(text: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, reason: 'the output is empty' };
  try {
    return { ok: true, value: JSON.parse(trimmed) as unknown };
  } catch (error) {
    const start = trimmed.search(/^[[{]/m);
    const end = Math.max(trimmed.lastIndexOf('}'), trimmed.lastIndexOf(']'));
    if (start > 0 && end > start) {
      try {
        return { ok: true, value: JSON.parse(trimmed.slice(start, end + 1)) as unknown };
      } catch {
        // fall through to the first error, which names the real problem
      }
    }
    return { ok: false, reason: `it is not JSON (${error instanceof Error ? error.message : String(error)})` };
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function stringField(record: Record<string, unknown>, key: string): string | undefined {
  const value = record[key];
  return typeof value === 'string' ? value : undefined;
}

export function numberField(record: Record<string, unknown>, key: string): number | undefined {
  const value = record[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
