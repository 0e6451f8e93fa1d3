import { parsed, unreadable, type OutputParser, type TestCase, type TestStatus } from './parsed-output.js';
import { cleanFailureMessage, escapeRegExp, isRecord, stringField } from './paths.js';

interface GoTest {
  readonly pkg: string;
  readonly name: string;
  status: TestStatus | undefined;
  readonly output: string[];
}

const FINAL: Readonly<Record<string, TestStatus>> = { pass: 'passed', fail: 'failed', skip: 'skipped' };
const BUILD_FAILED = /^FAIL\s+(\S+)\s+\[(build|setup) failed\]/;

/**
 * `go test -json`: one event per line. A parent test whose failure is explained by a failing
 * subtest is not a test of its own; a package that did not build has no test events at all and is
 * reported as one failed test carrying the compiler's message (from stderr, where go prints it).
 */
export const parseGoTestJson: OutputParser = ({ text, stderr, root }) => {
  const tests = new Map<string, GoTest>();
  const packageOutput = new Map<string, string[]>();
  const failedPackages = new Map<string, string>();
  let events = 0;
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    if (!trimmed.startsWith('{')) {
      const build = BUILD_FAILED.exec(trimmed);
      if (build) failedPackages.set(build[1] ?? '', `${build[2] ?? 'build'} failed`);
      continue;
    }
    let event: unknown;
    try {
      event = JSON.parse(trimmed);
    } catch {
      continue;
    }
    if (!isRecord(event)) continue;
    events++;
    const action = stringField(event, 'Action') ?? '';
    const pkg = stringField(event, 'Package') ?? stringField(event, 'ImportPath') ?? '';
    const name = stringField(event, 'Test');
    const output = stringField(event, 'Output');
    if (action === 'build-fail') failedPackages.set(pkg, 'build failed');
    if (name === undefined) {
      if (output !== undefined) packageOutput.set(pkg, [...(packageOutput.get(pkg) ?? []), output]);
      if (action === 'fail') failedPackages.set(pkg, failedPackages.get(pkg) ?? 'failed');
      continue;
    }
    const key = `${pkg}\u0000${name}`;
    const test = tests.get(key) ?? { pkg, name, status: undefined, output: [] };
    tests.set(key, test);
    if (output !== undefined) test.output.push(output);
    const final = FINAL[action];
    if (final !== undefined) test.status = final;
  }
  if (events === 0 && failedPackages.size === 0) return unreadable('it has no `go test -json` events');
  const all = [...tests.values()];
  const result: TestCase[] = [];
  for (const test of all) {
    const children = all.filter((t) => t.pkg === test.pkg && t.name.startsWith(`${test.name}/`));
    const status = test.status ?? 'failed';
    if (children.length > 0 && (status !== 'failed' || children.some((c) => c.status === 'failed'))) continue;
    const message = status === 'failed' ? failureOutput(root, test.output) : '';
    result.push({
      name: `${test.pkg} ${test.name}`,
      file: test.pkg,
      status,
      ...(message === '' ? {} : { message }),
      rerun: {
        file: test.pkg,
        name: test.name,
        pattern: test.name
          .split('/')
          .map((part) => `^${escapeRegExp(part)}$`)
          .join('/'),
      },
    });
  }
  const packagesWithFailingTests = new Set(result.filter((t) => t.status === 'failed').map((t) => t.file));
  for (const [pkg, why] of failedPackages) {
    if (packagesWithFailingTests.has(pkg)) continue;
    const compiler = stderr
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('FAIL'))
      .join('\n');
    const own = (packageOutput.get(pkg) ?? []).join('');
    result.push({ name: `${pkg} (${why})`, file: pkg, status: 'failed', message: cleanFailureMessage(root, `${own}\n${compiler}`.trim()) });
  }
  return parsed({ tests: result });
};

/** What the test printed, without go's own `=== RUN` / `--- FAIL` framing. */
function failureOutput(root: string, output: readonly string[]): string {
  const lines = output
    .join('')
    .split('\n')
    .filter((l) => !/^\s*(=== (RUN|PAUSE|CONT|NAME)|--- (FAIL|PASS|SKIP):)/.test(l) && l.trim() !== '');
  return cleanFailureMessage(root, lines.map((l) => l.trim()).join('\n'));
}
