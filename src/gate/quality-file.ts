import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { InputError, errorMessage } from '../platform/errors.js';
import { sortIssues, yamlErrorIssues, yamlLocator, zodInputIssues, type YamlSource } from '../tasks/yaml-issues.js';
import { GateCheckConfigSchema, GateConfigSchema, type GateConfig } from '../gate/gate-options.js';

/** A repository's own gate settings, beside its code: `tandem init` writes it. */
export const QUALITY_FILE = join('.tandem', 'quality.yaml');

export interface QualityFile {
  readonly file: string;
  /** Only the settings the file sets; the rest come from tandem.config.yaml and the defaults. */
  readonly gate: Partial<GateConfig>;
}

const KNOWN_FIELDS = [...Object.keys(GateConfigSchema.shape), ...Object.keys(GateCheckConfigSchema.shape)];

/**
 * Reads `<repo>/.tandem/quality.yaml` if there is one. Its top level is the `gate` section of
 * tandem.config.yaml (checks, coverage_tolerance, flaky_tests, change_size …). Every problem is an
 * InputError naming the file, line and field, like task files.
 */
export async function loadQualityFile(repoDir: string): Promise<QualityFile | undefined> {
  const file = join(repoDir, QUALITY_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new InputError([{ file, message: `cannot read: ${errorMessage(error)}` }], { cause: error });
  }
  return { file, gate: parseQualityFile(text, file) };
}

/** The settings a quality file's text sets; exported for `tandem init`, which checks what it writes. */
export function parseQualityFile(text: string, file: string): Partial<GateConfig> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const source: YamlSource = { doc, lineCounter, lineOffset: 0 };
  if (doc.errors.length > 0) throw new InputError(yamlErrorIssues(doc.errors, file, source));
  const raw: unknown = doc.toJS();
  if (raw === null || raw === undefined) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new InputError([{ file, line: 1, message: 'must be a mapping of gate settings (checks, coverage_tolerance, flaky_tests, …)' }]);
  }
  const result = GateConfigSchema.safeParse(raw);
  if (!result.success) {
    throw new InputError(
      sortIssues(zodInputIssues(result.error, { file, fieldPrefix: [], input: raw, locate: yamlLocator(source), knownFields: KNOWN_FIELDS })),
    );
  }
  const present = new Set(Object.keys(raw));
  const gate: Partial<GateConfig> = {};
  for (const key of Object.keys(result.data) as (keyof GateConfig)[]) if (present.has(key)) Object.assign(gate, { [key]: result.data[key] });
  return gate;
}
