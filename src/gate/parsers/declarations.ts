import { posix } from 'node:path';
import { parsed, unreadable, type ApiExport, type ParseResult } from './parsed-output.js';

interface Declared {
  readonly kind: string;
  readonly signature: string;
}

/**
 * The public API of a TypeScript package, read from the declaration files `tsc --declaration
 * --emitDeclarationOnly` writes: every name each entry file exports, following `export … from` and
 * `export *` into the other emitted files. Emitted declarations are regular enough to be read
 * statement by statement without the compiler (which the target repository owns, not tandem).
 */
export function parseDeclarations(files: ReadonlyMap<string, string>, entries: readonly string[]): ParseResult {
  if (files.size === 0)
    return unreadable('the declaration folder holds no .d.ts files (did the command run `tsc --declaration --emitDeclarationOnly --outDir …`?)');
  const chosen = entries.length > 0 ? entries.map((e) => posix.normalize(e)) : [...files.keys()].sort();
  const missing = chosen.filter((e) => !files.has(e));
  if (missing.length > 0)
    return unreadable(`the entry ${missing.map((m) => `"${m}"`).join(', ')} was not emitted (emitted: ${[...files.keys()].sort().slice(0, 10).join(', ')})`);
  const cache = new Map<string, Map<string, Declared>>();
  const exports: ApiExport[] = [];
  for (const entry of chosen) {
    for (const [name, declared] of [...exportsOf(entry, files, cache, new Set()).entries()].sort(([a], [b]) => a.localeCompare(b))) {
      exports.push({ entry, name, kind: declared.kind, signature: declared.signature });
    }
  }
  return parsed({ exports });
}

function exportsOf(file: string, files: ReadonlyMap<string, string>, cache: Map<string, Map<string, Declared>>, visiting: Set<string>): Map<string, Declared> {
  const cached = cache.get(file);
  if (cached) return cached;
  const result = new Map<string, Declared>();
  const text = files.get(file);
  if (text === undefined || visiting.has(file)) return result;
  visiting.add(file);
  const statements = splitStatements(text);
  const locals = new Map<string, Declared>();
  for (const statement of statements) {
    const local = /^(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?(function|class|interface|type|enum|const\s+enum|namespace|module)\s+([\w$]+)/.exec(statement);
    if (local) addTo(locals, local[2] ?? '', { kind: (local[1] ?? '').replace(/\s+/g, ' '), signature: statement });
  }
  const target = (specifier: string): Map<string, Declared> | undefined => {
    const resolved = resolveModule(file, specifier, files);
    return resolved === undefined ? undefined : exportsOf(resolved, files, cache, visiting);
  };
  for (const statement of statements) {
    if (!statement.startsWith('export')) continue;
    let match: RegExpExecArray | null;
    if (/^export\s+(?:declare\s+)?default\b/.test(statement)) {
      addTo(result, 'default', { kind: 'default', signature: statement });
    } else if (/^export\s*=/.test(statement)) {
      addTo(result, 'export=', { kind: 'export=', signature: statement });
    } else if ((match = /^export\s+\*\s+as\s+([\w$]+)\s+from\s+['"]([^'"]+)['"]/.exec(statement))) {
      addTo(result, match[1] ?? '', { kind: 'namespace', signature: statement });
    } else if ((match = /^export\s+\*\s+from\s+['"]([^'"]+)['"]/.exec(statement))) {
      const specifier = match[1] ?? '';
      const names = target(specifier);
      if (names === undefined) addTo(result, `* from ${specifier}`, { kind: 'reexport', signature: statement });
      else for (const [name, declared] of names) if (name !== 'default') addTo(result, name, declared);
    } else if ((match = /^export\s+(?:type\s+)?\{([^}]*)\}\s*(?:from\s+['"]([^'"]+)['"])?/.exec(statement))) {
      const from = match[2] === undefined ? undefined : target(match[2]);
      for (const part of (match[1] ?? '').split(',')) {
        const spec = /^\s*(?:type\s+)?([\w$]+)(?:\s+as\s+([\w$]+))?\s*$/.exec(part);
        if (!spec) continue;
        const original = spec[1] ?? '';
        const name = spec[2] ?? original;
        const declared = match[2] === undefined ? locals.get(original) : from?.get(original);
        addTo(result, name, declared ?? { kind: 'reexport', signature: statement });
      }
    } else if ((match = /^export\s+import\s+([\w$]+)\s*=/.exec(statement))) {
      addTo(result, match[1] ?? '', { kind: 'import', signature: statement });
    } else if ((match = /^export\s+(?:declare\s+)?(const|let|var)\s+([\s\S]*)$/.exec(statement))) {
      for (const declarator of splitTopLevel(match[2] ?? '', ',')) {
        const name = /^\s*([\w$]+)/.exec(declarator)?.[1];
        if (name) addTo(result, name, { kind: match[1] ?? 'const', signature: `${match[1] ?? 'const'} ${declarator.trim()}` });
      }
    } else if (
      (match = /^export\s+(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?(function|class|interface|type|enum|const\s+enum|namespace|module)\s+([\w$]+)/.exec(
        statement,
      ))
    ) {
      addTo(result, match[2] ?? '', { kind: (match[1] ?? '').replace(/\s+/g, ' '), signature: statement });
    }
  }
  visiting.delete(file);
  cache.set(file, result);
  return result;
}

/** Overloads and merged declarations (a function and a namespace of one name) are one export. */
function addTo(map: Map<string, Declared>, name: string, declared: Declared): void {
  const previous = map.get(name);
  map.set(
    name,
    previous === undefined || previous.signature === declared.signature
      ? declared
      : { kind: previous.kind, signature: `${previous.signature} ${declared.signature}` },
  );
}

/** `./math.js` from `sub/index.d.ts` → `sub/math.d.ts`; packages outside the folder are not followed. */
function resolveModule(from: string, specifier: string, files: ReadonlyMap<string, string>): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = posix.normalize(posix.join(posix.dirname(from), specifier));
  const stem = base.replace(/\.(d\.)?([cm]?)[jt]sx?$/, '');
  const ext = /\.([cm]?)[jt]sx?$/.exec(base)?.[1] ?? '';
  const candidates = [`${stem}.d.${ext}ts`, `${stem}.d.ts`, `${stem}/index.d.ts`];
  return candidates.find((c) => files.has(c));
}

/** Top-level statements with comments removed and whitespace collapsed. */
export function splitStatements(text: string): string[] {
  const statements: string[] = [];
  let current = '';
  let depth = 0;
  const push = (): void => {
    const statement = current.replace(/\s+/g, ' ').trim().replace(/;$/, '').trim();
    if (statement !== '') statements.push(statement);
    current = '';
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] ?? '';
    const next = text[i + 1] ?? '';
    if (ch === '/' && next === '/') {
      const end = text.indexOf('\n', i);
      i = end === -1 ? text.length : end - 1;
      continue;
    }
    if (ch === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end === -1 ? text.length : end + 1;
      current += ' ';
      continue;
    }
    if (ch === '"' || ch === "'" || ch === '`') {
      const end = endOfString(text, i, ch);
      current += text.slice(i, end + 1);
      i = end;
      continue;
    }
    if (ch === '{' || ch === '(' || ch === '[') depth++;
    if (ch === '}' || ch === ')' || ch === ']') depth = Math.max(0, depth - 1);
    if (depth === 0 && ch === ';') {
      push();
      continue;
    }
    current += ch;
    // A block declaration (interface, class, namespace) ends at its closing brace and a line break.
    if (depth === 0 && ch === '\n' && /\}\s*$/.test(current)) push();
  }
  push();
  return statements;
}

function endOfString(text: string, start: number, quote: string): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === quote) return i;
  }
  return text.length - 1;
}

function splitTopLevel(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if ('{([<'.includes(ch)) depth++;
    if ('})]>'.includes(ch)) depth = Math.max(0, depth - 1);
    if (depth === 0 && ch === separator) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts;
}
