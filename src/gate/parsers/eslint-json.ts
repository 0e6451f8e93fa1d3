import { parsed, unreadable, type OutputParser, type Warning } from './parsed-output.js';
import { isRecord, numberField, parseEmbeddedJson, relativePath, stringField, withoutRoot } from './paths.js';

/** `eslint --format json`: a list of files with their messages; a parse error has no rule id. */
export const parseEslintJson: OutputParser = ({ text, root }) => {
  const json = parseEmbeddedJson(text);
  if (!json.ok) return unreadable(json.reason);
  if (!Array.isArray(json.value)) return unreadable('it is not a list of files (is this `eslint --format json` output?)');
  const warnings: Warning[] = [];
  for (const file of json.value) {
    if (!isRecord(file) || !Array.isArray(file.messages)) return unreadable('an entry has no "messages" list (is this `eslint --format json` output?)');
    const path = relativePath(root, stringField(file, 'filePath') ?? '');
    for (const message of file.messages) {
      if (!isRecord(message)) continue;
      const fatal = message.fatal === true;
      warnings.push({
        rule: stringField(message, 'ruleId') ?? (fatal ? 'parse-error' : 'eslint'),
        file: path,
        line: numberField(message, 'line') ?? 0,
        ...(numberField(message, 'column') === undefined ? {} : { column: numberField(message, 'column') }),
        message: withoutRoot(root, stringField(message, 'message') ?? ''),
        severity: numberField(message, 'severity') === 1 ? 'warning' : 'error',
      });
    }
  }
  return parsed({ warnings });
};
