import { parsed, unreadable, type OutputParser, type TestCase } from './parsed-output.js';
import { cleanFailureMessage, escapeRegExp, relativePath } from './paths.js';

interface TestPoint {
  readonly indent: number;
  readonly ok: boolean;
  readonly name: string;
  readonly directive: 'skip' | 'todo' | undefined;
  readonly children: TestPoint[];
  yaml: string[];
}

const POINT = /^(\s*)(ok|not ok)\b\s*(\d+)?\s*(?:-\s*)?(.*)$/;
const YAML_START = /^\s*---\s*$/;
const YAML_END = /^\s*\.\.\.\s*$/;

/**
 * TAP 13/14 as `node --test --test-reporter=tap` writes it: subtests are indented under their parent
 * and announced by `# Subtest:`. Only leaves are tests; a suite counts itself only when it failed on
 * its own (a failing hook), not because a subtest failed. A file that could not load is reported by
 * node as a failed test named after the file, and stays one.
 */
export const parseTap: OutputParser = ({ text, root }) => {
  const lines = text.split('\n');
  const pending = new Map<number, TestPoint[]>();
  let current: TestPoint | undefined;
  let inYaml = false;
  let sawPlanOrPoint = false;
  let bailOut: string | undefined;
  for (const raw of lines) {
    const line = raw.replace(/\r$/, '');
    if (inYaml) {
      if (YAML_END.test(line)) inYaml = false;
      else current?.yaml.push(line);
      continue;
    }
    if (current && YAML_START.test(line)) {
      inYaml = true;
      continue;
    }
    const bail = /^\s*Bail out!\s*(.*)$/.exec(line);
    if (bail) {
      bailOut = bail[1] ?? '';
      continue;
    }
    if (/^\s*1\.\.\d+/.test(line)) sawPlanOrPoint = true;
    const match = POINT.exec(line);
    if (!match) continue;
    sawPlanOrPoint = true;
    const indent = (match[1] ?? '').length;
    const { name, directive } = splitDirective(match[4] ?? '');
    const children: TestPoint[] = [];
    for (const [level, points] of [...pending.entries()].sort(([a], [b]) => a - b)) {
      if (level > indent) {
        children.push(...points);
        pending.delete(level);
      }
    }
    current = { indent, ok: match[2] === 'ok', name, directive, children, yaml: [] };
    pending.set(indent, [...(pending.get(indent) ?? []), current]);
  }
  if (!sawPlanOrPoint) return unreadable(bailOut === undefined ? 'it has no TAP test lines ("ok …" / "not ok …")' : `the run bailed out: ${bailOut}`);
  const roots = [...pending.entries()].sort(([a], [b]) => a - b).flatMap(([, points]) => points);
  const tests: TestCase[] = [];
  for (const point of roots) collect(point, [], root, tests);
  if (bailOut !== undefined) tests.push({ name: 'Bail out!', status: 'failed', message: bailOut });
  return parsed({ tests });
};

function collect(point: TestPoint, ancestors: readonly string[], root: string, out: TestCase[]): void {
  const path = [...ancestors, point.name];
  const fields = yamlFields(point.yaml);
  const isSuite = point.children.length > 0 || fields.type === 'suite';
  if (isSuite) {
    for (const child of point.children) collect(child, path, root, out);
    const childFailed = point.children.some((c) => !c.ok && c.directive === undefined);
    // A suite fails with `subtestsFailed` when a child did; anything else (a hook) is its own failure.
    if (!point.ok && point.directive === undefined && (!childFailed || (fields.failureType !== undefined && fields.failureType !== 'subtestsFailed'))) {
      out.push(testCase(point, path, fields, root));
    }
    return;
  }
  out.push(testCase(point, path, fields, root));
}

function testCase(point: TestPoint, path: readonly string[], fields: YamlFields, root: string): TestCase {
  const file = fields.location === undefined ? undefined : relativePath(root, fields.location.replace(/:\d+:\d+$/, ''));
  const status = point.directive !== undefined ? 'skipped' : point.ok ? 'passed' : 'failed';
  const message = status === 'failed' ? [fields.error, fields.stack].filter((p): p is string => p !== undefined && p !== '').join('\n') : '';
  return {
    name: path.join(' › '),
    ...(file === undefined ? {} : { file }),
    status,
    ...(message === '' ? {} : { message: cleanFailureMessage(root, message) }),
    rerun: { file: file ?? '', name: point.name, pattern: `^${escapeRegExp(point.name)}$` },
  };
}

/** `name # SKIP reason` → name and directive; `\#` is a literal `#` in TAP names. */
function splitDirective(description: string): { name: string; directive: 'skip' | 'todo' | undefined } {
  const match = /(?:^|[^\\])#\s*(SKIP|TODO)\b/i.exec(description);
  const namePart = match ? description.slice(0, match.index + (match[0].startsWith('#') ? 0 : 1)) : description;
  const directive = match ? ((match[1] ?? '').toUpperCase() === 'SKIP' ? 'skip' : 'todo') : undefined;
  return { name: namePart.trim().replace(/\\#/g, '#').replace(/\\\\/g, '\\'), directive };
}

interface YamlFields {
  readonly type?: string;
  readonly location?: string;
  readonly failureType?: string;
  readonly error?: string;
  readonly stack?: string;
}

/** The few keys of node's YAML diagnostics that matter, read line by line (scalars and `|-` blocks). */
function yamlFields(lines: readonly string[]): YamlFields {
  const fields: Record<string, string> = {};
  const baseIndent = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => l.length - l.trimStart().length));
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.length - line.trimStart().length !== baseIndent) continue;
    const match = /^\s*([A-Za-z_]+):\s*(.*)$/.exec(line);
    if (!match) continue;
    const key = match[1] ?? '';
    const value = match[2] ?? '';
    if (/^[|>][-+]?$/.test(value)) {
      const block: string[] = [];
      while (i + 1 < lines.length) {
        const next = lines[i + 1] ?? '';
        if (next.trim() !== '' && next.length - next.trimStart().length <= baseIndent) break;
        block.push(next.trim() === '' ? '' : next.slice(baseIndent + 2));
        i++;
      }
      fields[key] = block.join('\n').trimEnd();
    } else {
      fields[key] = unquote(value);
    }
  }
  return fields;
}

function unquote(value: string): string {
  const v = value.trim();
  if (v.length >= 2 && v.startsWith("'") && v.endsWith("'")) return v.slice(1, -1).replace(/''/g, "'");
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) {
    try {
      return JSON.parse(v) as string;
    } catch {
      return v.slice(1, -1);
    }
  }
  return v;
}
