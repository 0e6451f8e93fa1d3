import { stripVTControlCharacters } from 'node:util';
import { parsed, unreadable, type OutputParser, type Warning } from './parsed-output.js';
import { isRecord, relativePath, stringField, withoutRoot } from './paths.js';

/** `# example.com/calc`: the package the following findings belong to. */
const PACKAGE_HEADER = /^# \S/;
/** A package that does not type-check: go vet reports the compiler's error and analyzes nothing. */
const TYPE_ERROR = /^vet: (.+?):(\d+):(\d+): (.*)$/;
/** The plain format, `./legacy.go:7:9: message` (go test's vet step leaves out the column). */
const PLAIN = /^(.+?\.go):(\d+)(?::(\d+))?: (.*)$/;
const POSITION = /^(.*?):(\d+)(?::(\d+))?$/;

/**
 * `go vet`, in both of its formats, from stdout and stderr together (go vet writes everything to
 * stderr). `go vet -json ./...` is preferred: it names the analyzer (`printf`, `unreachable`), which
 * makes the rule of a finding's identity, and it exits 0 with findings, so the exit code only
 * signals a broken run. The plain format has no analyzer names; its findings get the rule `vet`.
 * A package that does not type-check becomes one `typecheck` finding at the compiler's position.
 */
export const parseGoVet: OutputParser = ({ text, stderr, root }) => {
  const warnings = new Map<string, Warning>();
  const add = (warning: Warning): void => void warnings.set(JSON.stringify(warning), warning);
  let recognized = 0;
  let unknown = 0;
  let json: string[] | undefined;
  for (const raw of stripVTControlCharacters(`${text}\n${stderr}`).split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (json !== undefined) {
      json.push(line);
      // A package's JSON tree closes with a `}` in the first column.
      if (!line.startsWith('}')) continue;
      const tree = parseTree(json.join('\n'));
      json = undefined;
      if (tree === undefined) unknown++;
      else {
        recognized++;
        for (const warning of treeWarnings(tree, root)) add(warning);
      }
      continue;
    }
    if (line.trim() === '') continue;
    if (PACKAGE_HEADER.test(line)) {
      recognized++;
      continue;
    }
    if (line.startsWith('{')) {
      const tree = parseTree(line);
      if (tree === undefined) json = [line];
      else {
        recognized++;
        for (const warning of treeWarnings(tree, root)) add(warning);
      }
      continue;
    }
    const typeError = TYPE_ERROR.exec(line);
    if (typeError) {
      add({
        rule: 'typecheck',
        file: relativePath(root, typeError[1] ?? ''),
        line: Number(typeError[2]),
        column: Number(typeError[3]),
        message: withoutRoot(root, typeError[4] ?? ''),
        severity: 'error',
      });
      continue;
    }
    const plain = PLAIN.exec(line);
    if (plain) {
      add({
        rule: 'vet',
        file: relativePath(root, plain[1] ?? ''),
        line: Number(plain[2]),
        ...(plain[3] === undefined ? {} : { column: Number(plain[3]) }),
        message: withoutRoot(root, plain[4] ?? ''),
        severity: 'warning',
      });
      continue;
    }
    unknown++;
  }
  if (json !== undefined) unknown++;
  if (warnings.size === 0 && recognized === 0 && unknown > 0)
    return unreadable('none of its lines reads as go vet output ("# package", a -json tree or "file.go:line:col: message")');
  return parsed({ warnings: [...warnings.values()] });
};

function parseTree(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** `{ package: { analyzer: [{ posn, message }] | { error } } }`, the shape of `go vet -json`. */
function treeWarnings(tree: Record<string, unknown>, root: string): Warning[] {
  const warnings: Warning[] = [];
  for (const analyzers of Object.values(tree)) {
    if (!isRecord(analyzers)) continue;
    for (const [analyzer, findings] of Object.entries(analyzers)) {
      // An analyzer that failed on the package reports an error instead of findings.
      if (isRecord(findings)) {
        const error = stringField(findings, 'error');
        if (error !== undefined) warnings.push({ rule: analyzer, file: '', line: 0, message: withoutRoot(root, error), severity: 'error' });
        continue;
      }
      if (!Array.isArray(findings)) continue;
      for (const finding of findings) {
        if (!isRecord(finding)) continue;
        const position = POSITION.exec(stringField(finding, 'posn') ?? '');
        warnings.push({
          rule: analyzer,
          file: position === null ? '' : relativePath(root, position[1] ?? ''),
          line: position === null ? 0 : Number(position[2]),
          ...(position?.[3] === undefined ? {} : { column: Number(position[3]) }),
          message: withoutRoot(root, stringField(finding, 'message') ?? ''),
          severity: 'warning',
        });
      }
    }
  }
  return warnings;
}
