/**
 * Is a task the model wrote still the person's request? A small model paraphrases, generalizes and
 * sometimes answers a different question (seed 003 "LLAMA hallucination"). Two concrete, testable
 * rules stand in for the seed's similarity score:
 *  1. every file the request names is kept (in target_files, context_files, the title or the goal);
 *  2. at least half of the request's key terms (content words, crudely stemmed) appear in the task.
 */

/** Words that carry no subject of their own: articles, pronouns, and verbs every request uses. */
const STOP_WORDS: ReadonlySet<string> = new Set(
  (
    'the and for with that this from into onto our your you please can could would should will need needs want wants make sure also some any all ' +
    'its are was were been being has have had not but then than when where which who what why how there here them they just like use using ' +
    'add fix update change improve get set new one two let lets too very more most less via per etc able now file files code thing things ' +
    'do does did done it is be to of in on at by or as an if so up out my me we us i a'
  ).split(' '),
);

/** Abbreviations that look like file names. */
const NOT_FILES: ReadonlySet<string> = new Set(['e.g', 'i.e', 'etc.', 'vs.', 'a.m', 'p.m']);

const FILE_TOKEN = /(?:^|[\s"'`(,[{<])((?:[\w.-]+\/)*[\w-][\w.-]*\.[A-Za-z][A-Za-z0-9]{0,7})(?=$|[\s"'`)\]},:;!?>]|\.(?:\s|$))/g;

/** File names and paths the text mentions, e.g. `db.py`, `src/app/config.ts`. */
export function fileMentions(text: string): string[] {
  const found = new Set<string>();
  for (const match of text.matchAll(FILE_TOKEN)) {
    const token = (match[1] ?? '').replace(/^\.\//, '');
    if (token === '' || NOT_FILES.has(token.toLowerCase()) || /^https?:/i.test(token)) continue;
    found.add(token);
  }
  return [...found];
}

/** One crude suffix off, so `handling`/`handle`/`handled` and `tests`/`test` meet. */
export function stem(word: string): string {
  const w = word.toLowerCase();
  if (w.endsWith('ies') && w.length - 3 >= 3) return `${w.slice(0, -3)}y`;
  for (const suffix of ['ing', 'ed', 'es', 's', 'e']) {
    if (w.endsWith(suffix) && w.length - suffix.length >= 3) return w.slice(0, -suffix.length);
  }
  return w;
}

function words(text: string): string[] {
  return text
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length >= 3 && !STOP_WORDS.has(w) && !/^\d+$/.test(w));
}

/** The request's content words, each with its stem; file names are checked separately. */
export function keyTerms(text: string): { word: string; stem: string }[] {
  let rest = text;
  for (const file of fileMentions(text)) rest = rest.split(file).join(' ');
  const seen = new Set<string>();
  const terms: { word: string; stem: string }[] = [];
  for (const word of words(rest)) {
    const s = stem(word);
    if (seen.has(s)) continue;
    seen.add(s);
    terms.push({ word, stem: s });
  }
  return terms;
}

function stemsMatch(a: string, b: string): boolean {
  if (a === b) return true;
  const [short, long] = a.length <= b.length ? [a, b] : [b, a];
  return short.length >= 4 && long.startsWith(short);
}

export interface GroundedTask {
  readonly title: string;
  readonly goal: string;
  readonly success_criteria: readonly string[];
  readonly target_files: readonly string[];
  readonly context_files: readonly string[];
}

export interface GroundingProblem {
  readonly kind: 'dropped_file' | 'ungrounded';
  readonly field: string;
  readonly message: string;
}

/** Share of the request's key terms a task must keep. */
const MIN_TERM_COVERAGE = 0.5;

function keepsFile(task: GroundedTask, file: string): boolean {
  const lower = file.toLowerCase();
  const listed = [...task.target_files, ...task.context_files].some((f) => {
    const g = f.toLowerCase().replace(/^\.\//, '');
    return g === lower || g.endsWith(`/${lower}`) || lower.endsWith(`/${g}`);
  });
  return listed || `${task.title}\n${task.goal}`.toLowerCase().includes(lower);
}

export function groundingProblems(request: string, task: GroundedTask): GroundingProblem[] {
  const problems: GroundingProblem[] = [];
  const dropped = fileMentions(request).filter((file) => !keepsFile(task, file));
  if (dropped.length > 0) {
    problems.push({
      kind: 'dropped_file',
      field: 'target_files',
      message: `the request names ${dropped.map((f) => `\`${f}\``).join(', ')} but the task does not (neither in target_files, context_files nor the goal)`,
    });
  }
  const terms = keyTerms(request);
  if (terms.length > 0) {
    const taskStems = words([task.title, task.goal, ...task.success_criteria, ...task.target_files, ...task.context_files].join('\n')).map(stem);
    const missing = terms.filter((term) => !taskStems.some((s) => stemsMatch(term.stem, s)));
    const kept = terms.length - missing.length;
    if (kept < Math.ceil(terms.length * MIN_TERM_COVERAGE)) {
      problems.push({
        kind: 'ungrounded',
        field: 'goal',
        message: `the goal is not the request: it keeps ${kept} of its ${terms.length} key terms (missing: ${missing.map((t) => t.word).join(', ')})`,
      });
    }
  }
  return problems;
}
