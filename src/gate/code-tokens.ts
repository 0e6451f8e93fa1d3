import type * as TypeScript from 'typescript';

/**
 * The executable content of a source file: its tokens with comments and layout taken out, so that
 * a change of comments, blank lines or spacing compares equal and any other change does not.
 * `undefined` means "no tokenizer for this kind of file": every change of it counts as code.
 */
type Tokenizer = (text: string) => string[];

/** Line-based languages: a line break ends a statement there, so it stays a token. */
interface CLikeSyntax {
  readonly lineComment: '#' | '//';
  readonly blockComments: boolean;
  /** Python: indentation is syntax, and string prefixes (r, b, f, u) and triple quotes exist. */
  readonly python: boolean;
  /** Go: `raw` strings; JS: template literals (compared as one token with their text). */
  readonly backquoteStrings: boolean;
}

const PYTHON: CLikeSyntax = { lineComment: '#', blockComments: false, python: true, backquoteStrings: false };
const C_FAMILY: CLikeSyntax = { lineComment: '//', blockComments: true, python: false, backquoteStrings: true };

const TS_JS = /\.(ts|tsx|mts|cts|js|jsx|mjs|cjs)$/i;
const PY = /\.(py|pyi)$/i;
const C_LIKE = /\.(go|c|h|cc|cpp|hpp|cs|java|kt|kts|swift|scala|rs)$/i;

/** The tokenizer for a path, by its language family; `undefined` for anything else. */
export function tokenizerFor(path: string, typescript: TypeScriptModule | undefined): Tokenizer | undefined {
  if (TS_JS.test(path)) return typescript === undefined ? (text) => tokenize(text, C_FAMILY) : (text) => typescriptTokens(typescript, path, text);
  if (PY.test(path)) return (text) => tokenize(text, PYTHON);
  if (C_LIKE.test(path)) return (text) => tokenize(text, C_FAMILY);
  return undefined;
}

/** Whether two versions of a file (undefined: absent) differ in more than comments and layout. */
export function codeDiffers(tokenizer: Tokenizer, before: string | undefined, after: string | undefined): boolean {
  if (before === after) return false;
  const a = before === undefined ? [] : tokenizer(before);
  const b = after === undefined ? [] : tokenizer(after);
  return a.length !== b.length || a.some((token, i) => token !== b[i]);
}

export type TypeScriptModule = typeof TypeScript;

/** The `typescript` package when it is installed (a dev tool, not a dependency); the plain tokenizer otherwise. */
export async function loadTypeScript(): Promise<TypeScriptModule | undefined> {
  try {
    const loaded = (await import('typescript')) as TypeScriptModule & { default?: TypeScriptModule };
    return loaded.default ?? loaded;
  } catch {
    return undefined;
  }
}

/**
 * TypeScript's scanner with trivia skipped (comments and whitespace), re-scanning `/` as a regular
 * expression where a value may start and `}` as a template continuation inside `${…}`, as the
 * parser does. A line break before a token is kept in the token: ASI makes it syntax.
 */
function typescriptTokens(ts: TypeScriptModule, path: string, text: string): string[] {
  const jsx = /x$/i.test(path);
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, true, jsx ? ts.LanguageVariant.JSX : ts.LanguageVariant.Standard, text);
  const tokens: string[] = [];
  const templates: number[] = [];
  let braces = 0;
  let previous: number = ts.SyntaxKind.Unknown;
  for (let kind = scanner.scan(); kind !== ts.SyntaxKind.EndOfFileToken; kind = scanner.scan()) {
    if ((kind === ts.SyntaxKind.SlashToken || kind === ts.SyntaxKind.SlashEqualsToken) && valueMayStart(ts, previous)) kind = scanner.reScanSlashToken();
    if (kind === ts.SyntaxKind.OpenBraceToken) braces++;
    if (kind === ts.SyntaxKind.CloseBraceToken) {
      if (templates.length > 0 && templates[templates.length - 1] === braces) {
        templates.pop();
        kind = scanner.reScanTemplateToken(false);
      } else {
        braces--;
      }
    }
    if (kind === ts.SyntaxKind.TemplateHead || kind === ts.SyntaxKind.TemplateMiddle) templates.push(braces);
    tokens.push(`${tokens.length > 0 && scanner.hasPrecedingLineBreak() ? '\n' : ''}${scanner.getTokenText()}`);
    previous = kind;
  }
  return tokens;
}

/** After these a `/` starts a regular expression, not a division. */
function valueMayStart(ts: TypeScriptModule, previous: number): boolean {
  const k = ts.SyntaxKind;
  const afterValue: number[] = [
    k.Identifier,
    k.NumericLiteral,
    k.BigIntLiteral,
    k.StringLiteral,
    k.CloseParenToken,
    k.CloseBracketToken,
    k.CloseBraceToken,
    k.ThisKeyword,
    k.SuperKeyword,
    k.TrueKeyword,
    k.FalseKeyword,
    k.NullKeyword,
    k.PlusPlusToken,
    k.MinusMinusToken,
    k.NoSubstitutionTemplateLiteral,
    k.TemplateTail,
    k.RegularExpressionLiteral,
  ];
  const firstKeyword: number = k.FirstKeyword;
  const lastKeyword: number = k.LastKeyword;
  const operatorKeywords: number[] = [
    k.ReturnKeyword,
    k.TypeOfKeyword,
    k.InstanceOfKeyword,
    k.InKeyword,
    k.NewKeyword,
    k.DeleteKeyword,
    k.VoidKeyword,
    k.ThrowKeyword,
    k.CaseKeyword,
    k.DoKeyword,
    k.ElseKeyword,
    k.YieldKeyword,
    k.AwaitKeyword,
  ];
  return !afterValue.includes(previous) && !(previous >= firstKeyword && previous <= lastKeyword && !operatorKeywords.includes(previous));
}

/**
 * A small tokenizer for Python and the C family: strings and comments are recognized (so a `#` or
 * `//` inside a string is not a comment), comments are dropped, words and numbers are one token,
 * every other character is one token, and a line break that ends a non-empty line is a token.
 * In Python the indentation of each logical line is a token too; inside brackets lines join.
 */
function tokenize(text: string, syntax: CLikeSyntax): string[] {
  const tokens: string[] = [];
  let depth = 0;
  let lineHasCode = false;
  let atLineStart = true;
  let i = 0;
  const n = text.length;
  const endLine = (): void => {
    if (lineHasCode && (depth === 0 || !syntax.python)) tokens.push('\n');
    if (depth === 0 || !syntax.python) {
      lineHasCode = false;
      atLineStart = true;
    }
  };
  while (i < n) {
    const c = text[i] ?? '';
    if (c === '\n') {
      endLine();
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f') {
      i++;
      continue;
    }
    if (c === '\\' && (text[i + 1] === '\n' || (text[i + 1] === '\r' && text[i + 2] === '\n'))) {
      i += text[i + 1] === '\n' ? 2 : 3;
      continue;
    }
    if (syntax.lineComment === '#' ? c === '#' : c === '/' && text[i + 1] === '/') {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    if (syntax.blockComments && c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
      continue;
    }
    if (atLineStart && syntax.python) {
      // The indentation of the line's first token: the whitespace just before it.
      let start = i;
      while (start > 0 && (text[start - 1] === ' ' || text[start - 1] === '\t')) start--;
      tokens.push(`indent:${text.slice(start, i)}`);
    }
    atLineStart = false;
    lineHasCode = true;
    const stringEnd = scanString(text, i, syntax);
    if (stringEnd !== undefined) {
      tokens.push(text.slice(i, stringEnd));
      i = stringEnd;
      continue;
    }
    const word = /^[A-Za-z0-9_$.]+/.exec(text.slice(i, i + 256));
    if (word !== null && /[A-Za-z0-9_$]/.test(c)) {
      tokens.push(word[0]);
      i += word[0].length;
      continue;
    }
    if ('([{'.includes(c)) depth++;
    if (')]}'.includes(c)) depth = Math.max(0, depth - 1);
    tokens.push(c);
    i++;
  }
  endLine();
  return tokens;
}

/** The end of a string literal starting at `i` (its prefix included), or undefined when none starts there. */
function scanString(text: string, i: number, syntax: CLikeSyntax): number | undefined {
  let start = i;
  if (syntax.python) {
    const prefix = /^[rRbBuUfF]{1,2}(?=["'])/.exec(text.slice(i, i + 3));
    if (prefix !== null) start += prefix[0].length;
  }
  const quote = text[start];
  if (quote === undefined) return undefined;
  if (quote === '`' && syntax.backquoteStrings) {
    // Go raw strings and JS templates (nested `${}` with backquotes inside are rare enough to ignore).
    let j = start + 1;
    while (j < text.length && text[j] !== '`') j += text[j] === '\\' && !syntax.python ? 2 : 1;
    return Math.min(text.length, j + 1);
  }
  if (quote !== '"' && quote !== "'") return undefined;
  const triple = syntax.python && text.startsWith(quote.repeat(3), start);
  const closing = triple ? quote.repeat(3) : quote;
  let j = start + closing.length;
  while (j < text.length) {
    if (text[j] === '\\') {
      j += 2;
      continue;
    }
    if (text.startsWith(closing, j)) return j + closing.length;
    if (!triple && text[j] === '\n') return j;
    j++;
  }
  return text.length;
}
