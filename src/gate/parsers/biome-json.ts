import { parsed, unreadable, type OutputParser, type Warning, type WarningSeverity } from './parsed-output.js';
import { isRecord, numberField, parseEmbeddedJson, relativePath, stringField, withoutRoot } from './paths.js';

const SEVERITY: Readonly<Record<string, WarningSeverity>> = {
  fatal: 'error',
  error: 'error',
  warning: 'warning',
  information: 'info',
  info: 'info',
  hint: 'info',
};

/**
 * `biome lint --reporter=json` (Biome 2): `{summary, diagnostics: [{severity, message, category,
 * location: {path, start: {line, column}}}]}`. Biome calls the format experimental, so an entry
 * without the expected fields fails the parse loudly instead of being dropped.
 */
export const parseBiomeJson: OutputParser = ({ text, root }) => {
  const json = parseEmbeddedJson(text);
  if (!json.ok) return unreadable(json.reason);
  const report = json.value;
  if (!isRecord(report) || !Array.isArray(report.diagnostics)) return unreadable('it has no "diagnostics" list (is this `biome … --reporter=json` output?)');
  const warnings: Warning[] = [];
  for (const diagnostic of report.diagnostics) {
    if (!isRecord(diagnostic)) continue;
    const location = isRecord(diagnostic.location) ? diagnostic.location : {};
    const rawPath = location.path;
    const path = typeof rawPath === 'string' ? rawPath : isRecord(rawPath) ? stringField(rawPath, 'file') : undefined;
    const start = isRecord(location.start) ? location.start : undefined;
    const category = stringField(diagnostic, 'category');
    if (category === undefined) return unreadable('a diagnostic has no "category"; this Biome version writes a JSON format tandem does not know');
    warnings.push({
      rule: category,
      file: path === undefined ? '' : relativePath(root, path),
      line: (start && numberField(start, 'line')) ?? 0,
      ...(start && numberField(start, 'column') !== undefined ? { column: numberField(start, 'column') } : {}),
      message: withoutRoot(root, stringField(diagnostic, 'message') ?? stringField(diagnostic, 'description') ?? ''),
      severity: SEVERITY[stringField(diagnostic, 'severity') ?? ''] ?? 'error',
    });
  }
  return parsed({ warnings });
};
