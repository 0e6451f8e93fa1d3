import type { z } from 'zod';

export type ParseResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/**
 * Models wrap JSON in prose or code fences even when told not to. Take the fenced block if there
 * is one, else the outermost {...}; never guess beyond that, so a wrong answer is caught by the
 * schema and fed back rather than silently repaired.
 */
export function extractJson(text: string): ParseResult<unknown> {
  const trimmed = text.trim();
  const fenced = /```(?:json)?\s*\n([\s\S]*?)\n?```/.exec(trimmed);
  const candidates = [trimmed];
  if (fenced?.[1]) candidates.push(fenced[1].trim());
  const start = trimmed.indexOf('{');
  const end = trimmed.lastIndexOf('}');
  if (start >= 0 && end > start) candidates.push(trimmed.slice(start, end + 1));
  let firstError = '';
  for (const candidate of candidates) {
    try {
      return { ok: true, value: JSON.parse(candidate) as unknown };
    } catch (error) {
      firstError ||= error instanceof Error ? error.message : String(error);
    }
  }
  const preview = trimmed.length > 80 ? `${trimmed.slice(0, 80)}…` : trimmed;
  return { ok: false, error: `the answer is not valid JSON (${firstError}); it began: ${JSON.stringify(preview)}` };
}

/** A parser of answers that must match `schema`. */
export function schemaParser<S extends z.ZodType>(schema: S): (response: string) => ParseResult<z.infer<S>> {
  return (response) => parseStructured(response, schema);
}

export function parseStructured<S extends z.ZodType>(text: string, schema: S): ParseResult<z.infer<S>> {
  const json = extractJson(text);
  if (!json.ok) return json;
  const parsed = schema.safeParse(json.value);
  if (parsed.success) return { ok: true, value: parsed.data };
  // Strict structured output (codex --output-schema) answers an absent optional field with null.
  const withoutNull = schema.safeParse(dropNullFields(json.value));
  if (withoutNull.success) return { ok: true, value: withoutNull.data };
  const issues = parsed.error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
  return { ok: false, error: `the JSON does not match the required schema: ${issues}` };
}

/** The value with every object field whose value is null left out, at any depth. */
function dropNullFields(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropNullFields);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== null)
      .map(([k, v]) => [k, dropNullFields(v)]),
  );
}
