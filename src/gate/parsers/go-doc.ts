import { parsed, unreadable, type ApiExport, type OutputParser } from './parsed-output.js';

/** Only with the import comment, which go doc always prints for a library package: a line of package documentation cannot pass for it. */
const PACKAGE = /^package \S+ \/\/ import "([^"]+)"\s*$/;
const SECTION = /^(CONSTANTS|VARIABLES|FUNCTIONS|TYPES)$/;
const DECLARATION = /^(const|var|func|type)\b/;
const IDENT = '[\\p{L}_][\\p{L}\\p{N}_]*';
const NAMES = new RegExp(`^(${IDENT}(?:\\s*,\\s*${IDENT})*)(?=\\s|$)`, 'u');
const FUNC = new RegExp(`^func\\s+(${IDENT})`, 'u');
const METHOD = new RegExp(`^func\\s*\\(\\s*(?:${IDENT}\\s+)?\\*?\\s*(${IDENT})[^)]*\\)\\s*(${IDENT})`, 'u');
const TYPE = new RegExp(`^type\\s+(${IDENT})`, 'u');
const SINGLE = new RegExp(`^(const|var)\\s+(${IDENT}(?:\\s*,\\s*${IDENT})*)`, 'u');
const EMBEDDED = new RegExp(`^\\*?(?:${IDENT}\\.)?(${IDENT})(?:\\[.*\\])?\\s*(?:\`.*\`|".*")?$`, 'u');
const INTERFACE_METHOD = new RegExp(`^(${IDENT})\\s*\\(`, 'u');

/** One line of a declaration with its comments taken out, and the bracket depth it starts at. */
interface CodeLine {
  readonly depth: number;
  readonly code: string;
}

/**
 * The public API of Go packages from `go doc -all <package>` run for each library package (the
 * check's command loops over `go list`): every exported const, var, func, type, method, struct field
 * and interface method, named `Type.Member` for members, with the package's import path as the
 * entry. go doc already leaves out unexported names and test files, and prints declarations in the
 * first column with their documentation indented below, so the declarations can be read line by
 * line; only brackets (a signature over several lines, a struct's body) need to be followed, which
 * is done outside strings and comments.
 */
export const parseGoDoc: OutputParser = ({ text }) => {
  const lines = text.replace(/\r/g, '').split('\n');
  const exports = new Map<string, ApiExport>();
  let entry: string | undefined;
  let inBody = false;
  let packages = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const header = PACKAGE.exec(line);
    if (header) {
      entry = header[1] ?? '';
      inBody = false;
      packages++;
      continue;
    }
    if (entry === undefined) continue;
    // The package's own documentation, in the first column too, runs until the first section.
    if (SECTION.test(line)) {
      inBody = true;
      continue;
    }
    if (line === 'BUGS') inBody = false;
    if (!inBody || !DECLARATION.test(line)) continue;
    const declaration = readDeclaration(lines, i);
    i = declaration.last;
    for (const found of exportsOf(declaration.lines)) {
      const key = `${entry}\u0000${found.name}`;
      if (!exports.has(key)) exports.set(key, { entry, ...found });
    }
  }
  if (packages === 0)
    return unreadable(
      'it has no "package … // import …" line (is this `go doc -all` output? An empty output means no library package was listed, or `go list` failed)',
    );
  return parsed({ exports: [...exports.values()].sort((a, b) => a.entry.localeCompare(b.entry) || a.name.localeCompare(b.name)) });
};

/** The lines of the declaration that starts at `start`: until its brackets close. */
function readDeclaration(lines: readonly string[], start: number): { lines: CodeLine[]; last: number } {
  const state: ScanState = { depth: 0, raw: false, block: false };
  const out: CodeLine[] = [];
  let i = start;
  for (; i < lines.length; i++) {
    const depth = state.depth;
    out.push({ depth, code: scanLine(lines[i] ?? '', state) });
    if (state.depth <= 0 && !state.raw && !state.block) break;
  }
  return { lines: out, last: Math.min(i, lines.length - 1) };
}

interface ScanState {
  depth: number;
  /** Inside a raw string literal (backquotes), which may span lines. */
  raw: boolean;
  /** Inside a block comment. */
  block: boolean;
}

/** Follows bracket depth through one line and returns the line without comments; string contents are kept. */
function scanLine(line: string, state: ScanState): string {
  let code = '';
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] ?? '';
    const next = line[i + 1] ?? '';
    if (state.block) {
      if (ch === '*' && next === '/') {
        state.block = false;
        i++;
      }
      continue;
    }
    if (state.raw) {
      code += ch;
      if (ch === '`') state.raw = false;
      continue;
    }
    if (ch === '/' && next === '/') break;
    if (ch === '/' && next === '*') {
      state.block = true;
      i++;
      code += ' ';
      continue;
    }
    if (ch === '`') {
      state.raw = true;
      code += ch;
      continue;
    }
    if (ch === '"' || ch === "'") {
      let end = i + 1;
      while (end < line.length && line[end] !== ch) end += line[end] === '\\' ? 2 : 1;
      code += line.slice(i, end + 1);
      i = end;
      continue;
    }
    if (ch === '(' || ch === '[' || ch === '{') state.depth++;
    if (ch === ')' || ch === ']' || ch === '}') state.depth = Math.max(0, state.depth - 1);
    code += ch;
  }
  return code;
}

function exportsOf(lines: readonly CodeLine[]): Omit<ApiExport, 'entry'>[] {
  const first = lines[0]?.code ?? '';
  const whole = collapse(lines.map((l) => l.code).join(' '));
  const method = METHOD.exec(first);
  if (method) return exported(method[2]) ? [{ name: `${method[1] ?? ''}.${method[2] ?? ''}`, kind: 'method', signature: whole }] : [];
  const func = FUNC.exec(first);
  if (func) return exported(func[1]) ? [{ name: func[1] ?? '', kind: 'func', signature: whole }] : [];
  const keyword = /^(const|var|type)\s*\(\s*$/.exec(first);
  if (keyword) return groupMembers(lines, keyword[1] ?? '');
  const type = TYPE.exec(first);
  if (type) {
    const name = type[1] ?? '';
    if (!exported(name)) return [];
    const body = /^type\s+[^\s[]+(?:\[.*\])?\s+(struct|interface)\s*\{\s*$/u.exec(first.trim());
    // A struct or interface is its header plus one export per member, so a removed field counts as removed.
    if (body === null) return [{ name, kind: 'type', signature: whole }];
    return [{ name, kind: 'type', signature: collapse(first.replace(/\{\s*$/, '')) }, ...members(name, body[1] === 'struct' ? 'field' : 'method', lines)];
  }
  const single = SINGLE.exec(first);
  if (single)
    return names(single[2] ?? '')
      .filter(exported)
      .map((name) => ({ name, kind: single[1] ?? 'var', signature: whole }));
  return [];
}

/** `const (` … `)`: each member at depth 1 declares one or more names. */
function groupMembers(lines: readonly CodeLine[], kind: string): Omit<ApiExport, 'entry'>[] {
  const out: Omit<ApiExport, 'entry'>[] = [];
  for (const member of memberTexts(lines)) {
    const declared = NAMES.exec(member.first);
    if (declared) for (const name of names(declared[1] ?? '').filter(exported)) out.push({ name, kind, signature: member.signature });
  }
  return out;
}

/** Fields of a struct (or methods and embedded interfaces of an interface): the members at depth 1. */
function members(type: string, kind: 'field' | 'method', lines: readonly CodeLine[]): Omit<ApiExport, 'entry'>[] {
  const out: Omit<ApiExport, 'entry'>[] = [];
  for (const { first: code, signature } of memberTexts(lines)) {
    if (kind === 'method') {
      // Type-set lines of a constraint (`~int | ~string`) are not members.
      const method = INTERFACE_METHOD.exec(code);
      const embedded = method === null && !/[|~]/.test(code) ? EMBEDDED.exec(code) : null;
      const name = method?.[1] ?? embedded?.[1];
      if (name !== undefined && exported(name)) out.push({ name: `${type}.${name}`, kind: method ? 'method' : 'embedded', signature });
      continue;
    }
    const embedded = EMBEDDED.exec(code);
    const declared = NAMES.exec(code);
    // `Base`, `*Base`, `io.Reader` and `Base \`tag\`` embed a type; `Name Type` declares a field.
    if (embedded && (declared === null || /^\S+\s+[`"]/.test(code) || !/\s/.test(code))) {
      if (exported(embedded[1])) out.push({ name: `${type}.${embedded[1] ?? ''}`, kind: 'embedded', signature });
      continue;
    }
    if (declared) for (const name of names(declared[1] ?? '').filter(exported)) out.push({ name: `${type}.${name}`, kind: 'field', signature });
  }
  return out;
}

/**
 * The members of a bracketed body: each starts on a line at depth 1 and takes the deeper lines
 * below it (a field's function type over several lines, a nested struct) into its signature.
 */
function memberTexts(lines: readonly CodeLine[]): { first: string; signature: string }[] {
  const out: { first: string; parts: string[] }[] = [];
  for (const line of lines.slice(1)) {
    const code = collapse(line.code);
    if (code === '') continue;
    if (line.depth === 1) {
      if (code !== '}' && code !== ')') out.push({ first: code, parts: [code] });
    } else if (line.depth > 1) {
      out.at(-1)?.parts.push(code);
    }
  }
  return out.map((m) => ({ first: m.first, signature: collapse(m.parts.join(' ')).replace(/\s*\{$/, '') }));
}

function names(list: string): string[] {
  return list
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
}

/** Go exports a name that starts with an upper-case letter. */
function exported(name: string | undefined): boolean {
  return name !== undefined && /^\p{Lu}/u.test(name);
}

function collapse(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
