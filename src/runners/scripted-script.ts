import { readFile } from 'node:fs/promises';
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Document, Node } from 'yaml';
import { z } from 'zod';
import { errorMessage, InputError } from '../platform/errors.js';
import type { InputIssue } from '../platform/errors.js';
import { TaskIdSchema } from '../model/task-spec.js';
import { StepIdSchema } from '../model/role-outputs.js';
import type { Role } from '../model/execution.js';

/**
 * The script the scripted runner replays (DESIGN §5). Answers are keyed by task, role, step and
 * attempt so that a call's answer follows from the request alone: a restarted supervisor that
 * repeats a call gets the same answer.
 */

/** Failures a script can ask for; `cancelled` is not here because only an abort produces it. */
const ScriptFailKindSchema = z.enum([
  'rate_limit',
  'timeout',
  'overloaded',
  'crashed',
  'auth',
  'bad_output',
  'permission_denied',
  'no_progress',
  'unavailable',
]);
export type ScriptFailKind = z.infer<typeof ScriptFailKindSchema>;

const answerShape = {
  /** Answer with this text, successfully: the caller's schema check is what rejects it. */
  raw: z.string().optional(),
  fail: ScriptFailKindSchema.optional(),
  message: z.string().min(1).optional(),
  retry_after_ms: z.number().int().nonnegative().optional(),
  /** Never answer until the call is aborted. */
  hang: z.literal(true).optional(),
  /** Wait this long (on the injected clock) before answering; the benchmark uses it. */
  delay_ms: z.number().int().nonnegative().optional(),
};

type Presence = Readonly<Record<string, unknown>>;

/** Adds an issue unless exactly one of `keys` is present; the zod shape cannot say "one of". */
function exactlyOne(value: Presence, keys: readonly string[], what: string, ctx: z.RefinementCtx): void {
  const present = keys.filter((key) => value[key] !== undefined);
  if (present.length === 1) return;
  const list = keys.join(', ');
  ctx.addIssue({
    code: 'custom',
    path: present.length > 1 ? [present[1] ?? ''] : [],
    message: present.length === 0 ? `${what} needs one of ${list}` : `${what} has both ${present[0]} and ${present[1]}; give only one of ${list}`,
  });
}

function onlyWith(value: Presence, key: string, requires: readonly string[], ctx: z.RefinementCtx): void {
  if (value[key] === undefined || requires.some((other) => value[other] !== undefined)) return;
  ctx.addIssue({ code: 'custom', path: [key], message: `is only allowed together with ${requires.join(' or ')}` });
}

function checkAnswer(value: Presence, kinds: readonly string[], what: string, ctx: z.RefinementCtx): void {
  exactlyOne(value, kinds, what, ctx);
  onlyWith(value, 'message', ['fail'], ctx);
  onlyWith(value, 'retry_after_ms', ['fail'], ctx);
}

/** An answer given to an earlier try of the same attempt. */
const ScriptBeforeItemSchema = z.strictObject(answerShape).superRefine((item, ctx) => checkAnswer(item, ['raw', 'fail', 'hang'], 'a before item', ctx));

/** One file change, relative to the call's working directory. */
const ScriptEditSchema = z
  .strictObject({
    path: z.string().min(1),
    content: z.string().optional(),
    delete: z.literal(true).optional(),
    /** Replaces the first occurrence; the call fails (crashed) when `from` is absent. */
    replace: z.strictObject({ from: z.string().min(1), to: z.string() }).optional(),
  })
  .superRefine((edit, ctx) => exactlyOne(edit, ['content', 'delete', 'replace'], 'an edit', ctx));
export type ScriptEdit = z.infer<typeof ScriptEditSchema>;

/** The answer to one attempt. */
const ScriptTurnSchema = z
  .strictObject({
    ...answerShape,
    /** Any JSON value; the runner answers with its JSON text. */
    respond: z.json().optional(),
    respond_text: z.string().optional(),
    /** Applied before answering, only for the turn's own answer (not for `before` items). */
    edits: z.array(ScriptEditSchema).optional(),
    /** Answers to tries 0, 1, … of the attempt; the turn's own answer is given from try `before.length` on. */
    before: z.array(ScriptBeforeItemSchema).optional(),
    /**
     * Until this time on the runner's clock (ms since the epoch) every call of the turn is rate limited,
     * with the time left as retry-after: how a real provider's limit behaves, and still a pure function
     * of the request and the clock, so a paused task that asks again after the reset gets the answer.
     */
    rate_limited_until: z.number().int().nonnegative().optional(),
  })
  .superRefine((turn, ctx) => {
    checkAnswer(turn, ['respond', 'respond_text', 'raw', 'fail', 'hang'], 'a turn', ctx);
    onlyWith(turn, 'edits', ['respond', 'respond_text'], ctx);
  });
export type ScriptTurn = z.infer<typeof ScriptTurnSchema>;

/** Turn i answers attempt i+1; the last turn answers every later attempt. */
const ScriptTurnsSchema = z.array(ScriptTurnSchema).min(1, 'needs at least one turn');
export type ScriptTurns = z.infer<typeof ScriptTurnsSchema>;

const optionalTurns = ScriptTurnsSchema.optional();

/** Roles whose calls belong to a plan step and are therefore scripted under `steps.<id>`. */
export const stepRoles: ReadonlySet<Role> = new Set<Role>(['implementer', 'code-reviewer']);

const ScriptStepSchema = z.strictObject({
  implementer: optionalTurns,
  'code-reviewer': optionalTurns,
});

const ScriptTaskSchema = z.strictObject({
  planner: optionalTurns,
  'plan-reviewer': optionalTurns,
  /** Turn i answers the task's validator call i+1 (the first validation, then each after a fix-up). */
  validator: optionalTurns,
  mediator: optionalTurns,
  steps: z.record(StepIdSchema, ScriptStepSchema).optional(),
});
export type ScriptTask = z.infer<typeof ScriptTaskSchema>;

const ScriptDefaultsSchema = z.strictObject({
  planner: optionalTurns,
  'plan-reviewer': optionalTurns,
  implementer: optionalTurns,
  'code-reviewer': optionalTurns,
  validator: optionalTurns,
  mediator: optionalTurns,
} satisfies Record<Role, typeof optionalTurns>);

export const ScriptSchema = z.strictObject({
  /** Used when a task, role or step has no entry of its own. */
  defaults: ScriptDefaultsSchema.default({}),
  tasks: z.record(TaskIdSchema, ScriptTaskSchema).default({}),
});
export type Script = z.infer<typeof ScriptSchema>;
export type ScriptInput = z.input<typeof ScriptSchema>;

/** `tasks.DEMO-1.steps[0].path` style, matching how people read the YAML. */
function fieldOf(path: readonly PropertyKey[]): string | undefined {
  let field = '';
  for (const segment of path) {
    if (typeof segment === 'number') field += `[${segment}]`;
    else field += field === '' ? String(segment) : `.${String(segment)}`;
  }
  return field === '' ? undefined : field;
}

/** Start offset of the node at `path`; for the last segment of a map, the key itself when asked. */
function offsetOf(doc: Document, path: readonly PropertyKey[], atKey: boolean): number | undefined {
  let node: unknown = doc.contents;
  let offset = doc.contents?.range?.[0];
  for (const [index, segment] of path.entries()) {
    const last = index === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
      if (!pair) return offset;
      const keyNode = pair.key as Node;
      const valueNode = pair.value as Node | null;
      offset = (last && atKey) || !valueNode?.range ? keyNode.range?.[0] : valueNode.range[0];
      node = valueNode;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment] as Node | undefined;
      if (!item?.range) return offset;
      offset = item.range[0];
      node = item;
    } else {
      return offset;
    }
  }
  return offset;
}

/** Zod issues as InputIssues; with a parsed document each one also gets its line and column. */
export function scriptIssues(error: z.ZodError, file: string, located?: { doc: Document; lineCounter: LineCounter }): InputIssue[] {
  const issues: InputIssue[] = [];
  const locate = (path: readonly PropertyKey[], atKey: boolean): { line?: number; column?: number } => {
    if (!located) return {};
    const offset = offsetOf(located.doc, path, atKey);
    if (offset === undefined) return {};
    const pos = located.lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const path = [...issue.path, key];
        issues.push({ file, ...locate(path, true), field: fieldOf(path), message: 'is not a known field' });
      }
      continue;
    }
    // A bad record key is reported at the key, with the key schema's own message.
    const isKey = issue.code === 'invalid_key';
    const message = isKey ? `invalid name: ${issue.issues[0]?.message ?? issue.message}` : issue.message;
    issues.push({ file, ...locate(issue.path, isKey), field: fieldOf(issue.path), message });
  }
  // Zod reports refinements after the shape checks; people read a file top to bottom.
  return issues.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity) || (a.column ?? 0) - (b.column ?? 0));
}

/** Parses script text; `file` is only used in error messages. Throws InputError naming file, line and field. */
export function parseScript(text: string, file: string): Script {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const yamlProblems = [...doc.errors, ...doc.warnings];
  if (yamlProblems.length > 0) {
    throw new InputError(
      yamlProblems.map((problem) => {
        const pos = lineCounter.linePos(problem.pos[0]);
        return { file, line: pos.line, column: pos.col, message: `invalid YAML: ${problem.message}` };
      }),
    );
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 1_000 });
  } catch (error) {
    throw new InputError([{ file, message: `invalid YAML: ${errorMessage(error)}` }], { cause: error });
  }
  // An empty file would silently answer every call with "no scripted answer"; say so up front.
  if (data === null || data === undefined) throw new InputError([{ file, message: 'the script is empty' }]);
  const parsed = ScriptSchema.safeParse(data);
  if (!parsed.success) throw new InputError(scriptIssues(parsed.error, file, { doc, lineCounter }), { cause: parsed.error });
  return parsed.data;
}

/** Reads and validates a script file. Problems become one InputError listing every issue. */
export async function loadScript(file: string): Promise<Script> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new InputError([{ file, message: `cannot read the script: ${errorMessage(error)}` }], { cause: error });
  }
  return parseScript(text, file);
}
