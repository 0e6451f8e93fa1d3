import { z } from 'zod';
import { parsed, unreadable, type OutputParser } from './parsed-output.js';
import { parseEmbeddedJson } from './paths.js';

const PythonExportSchema = z.object({
  module: z.string().min(1),
  name: z.string().min(1),
  kind: z.string(),
  signature: z.string(),
});
const PythonApiSchema = z.array(PythonExportSchema);

/**
 * The public API of Python modules as tandem's `ast` script prints it (see `pythonApiCommand`): a
 * JSON list of `{module, name, kind, signature}`, the module being its dotted name (the entry).
 */
export const parsePythonApi: OutputParser = ({ text }) => {
  const json = parseEmbeddedJson(text);
  if (!json.ok) return unreadable(json.reason);
  const result = PythonApiSchema.safeParse(json.value);
  if (!result.success) {
    const issue = result.error.issues[0];
    return unreadable(
      `it is not a list of {module, name, kind, signature} (${issue?.path.join('.') || 'top level'}: ${issue?.message ?? 'invalid'}; is this the output of tandem's Python API script?)`,
    );
  }
  const exports = result.data
    .map((e) => ({ entry: e.module, name: e.name, kind: e.kind, signature: e.signature }))
    .sort((a, b) => a.entry.localeCompare(b.entry) || a.name.localeCompare(b.name));
  return parsed({ exports });
};
