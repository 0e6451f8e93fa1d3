import { parsed, unreadable, type OutputParser, type TestCase, type TestStatus } from './parsed-output.js';
import { cleanFailureMessage, escapeRegExp, isRecord, parseEmbeddedJson, relativePath, stringField } from './paths.js';

const STATUS: Readonly<Record<string, TestStatus>> = {
  passed: 'passed',
  failed: 'failed',
  pending: 'skipped',
  skipped: 'skipped',
  todo: 'skipped',
  disabled: 'skipped',
  focused: 'passed',
};

/**
 * Jest's `--json` report, which Vitest's `json` reporter reproduces: one entry per test file with
 * its assertion results. A file that failed to run at all (a syntax error, a missing import) has
 * no results; it becomes one failed test named after the file, so it can never pass unnoticed.
 */
export const parseJestJson: OutputParser = ({ text, root }) => {
  const json = parseEmbeddedJson(text);
  if (!json.ok) return unreadable(json.reason);
  const report = json.value;
  if (!isRecord(report) || !Array.isArray(report.testResults)) return unreadable('it has no "testResults" list (is this a Jest or Vitest JSON report?)');
  const tests: TestCase[] = [];
  for (const suite of report.testResults) {
    if (!isRecord(suite)) continue;
    const file = relativePath(root, stringField(suite, 'name') ?? stringField(suite, 'testFilePath') ?? '');
    const results = Array.isArray(suite.assertionResults) ? suite.assertionResults.filter(isRecord) : [];
    for (const result of results) {
      const title = stringField(result, 'title') ?? '';
      const ancestors = Array.isArray(result.ancestorTitles) ? result.ancestorTitles.filter((t): t is string => typeof t === 'string') : [];
      const fullName = stringField(result, 'fullName') ?? [...ancestors, title].join(' ');
      const status = STATUS[stringField(result, 'status') ?? ''] ?? 'failed';
      const messages = Array.isArray(result.failureMessages) ? result.failureMessages.filter((m): m is string => typeof m === 'string') : [];
      tests.push({
        name: [...ancestors, title].join(' › '),
        file,
        status,
        ...(status === 'failed' && messages.length > 0 ? { message: cleanFailureMessage(root, messages.join('\n')) } : {}),
        rerun: { file, name: fullName, pattern: `^${escapeRegExp(fullName)}$` },
      });
    }
    if (results.length === 0 && stringField(suite, 'status') === 'failed') {
      const message = stringField(suite, 'message') ?? stringField(suite, 'failureMessage') ?? '';
      tests.push({ name: `${file} (the file failed to run)`, file, status: 'failed', message: cleanFailureMessage(root, message) });
    }
  }
  return parsed({ tests });
};
