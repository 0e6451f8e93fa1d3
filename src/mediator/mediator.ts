import type { z } from 'zod';
import { errorMessage } from '../platform/errors.js';
import { checkRepoPath } from '../tasks/repo-paths.js';
import { TaskSpecSchema, type TaskSpec } from '../model/task-spec.js';
import { git } from '../workspace/git.js';
import { fileMentions, groundingProblems } from './mediator-grounding.js';
import { MediatorFailureKind, type MediatorModel } from './mediator-model.js';
import {
  MediatorSummarySchema,
  MediatorTaskSchema,
  type MediatorSummary,
  type MediatorTask,
  type SummaryFacts,
  type SummaryStatus,
} from './mediator-schemas.js';
import { interpretPrompt, interpretSystem, summaryPrompt, summarySystem } from './mediator-prompt.js';
import { jsonSchemaOf } from '../roles/prompts/common.js';

/**
 * The mediator (DESIGN §4, seed 003): a local model that turns a person's free-form request into a
 * TaskSpec and tells a busy person how a task ended. Nothing it says is used unchecked: a task must
 * match the schema, name only files that exist (or that the person asked to create) and keep the
 * request's files and key terms; a summary must agree with the task record. A failed check is fed
 * back to the model (at most `maxRetries` times), then the answer is rejected.
 */

const MediatorProblemKind = {
  invalidJson: 'invalid_json',
  schema: 'schema',
  missingFile: 'missing_file',
  outsideRepo: 'outside_repo',
  droppedFile: 'dropped_file',
  ungrounded: 'ungrounded',
  contradicts: 'contradicts_record',
} as const;
type MediatorProblemKind = (typeof MediatorProblemKind)[keyof typeof MediatorProblemKind];

interface MediatorProblem {
  readonly kind: MediatorProblemKind;
  readonly field?: string | undefined;
  readonly message: string;
}

type InterpretResult =
  | { readonly ok: true; readonly spec: TaskSpec; readonly attempts: number }
  /** No model answered: the caller says so and offers the structured paths. */
  | { readonly ok: false; readonly reason: 'unavailable'; readonly message: string; readonly attempts: number }
  | { readonly ok: false; readonly reason: 'rejected'; readonly message: string; readonly problems: readonly MediatorProblem[]; readonly attempts: number };

type SummaryResult =
  | { readonly ok: true; readonly text: string; readonly summary: MediatorSummary }
  | { readonly ok: false; readonly reason: 'unavailable' | 'rejected'; readonly message: string };

interface InterpretOptions {
  /** The id tandem gives the task; the model never picks it. */
  readonly id: string;
  /** Repository root the task will run in; named files are checked against it. */
  readonly repo: string;
  /** Who asked, for the task's context (e.g. `telegram chat 42`). */
  readonly by?: string | undefined;
  readonly source?: { readonly file: string; readonly line?: number } | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface Mediator {
  readonly label: string;
  interpret(request: string, options: InterpretOptions): Promise<InterpretResult>;
  summarize(facts: SummaryFacts, signal?: AbortSignal): Promise<SummaryResult>;
}

export interface MediatorOptions {
  readonly model: MediatorModel;
  /** Answers fed back with their problems before giving up (the issue: "asks again (max 2)"). */
  readonly maxRetries?: number;
  /** Repository files shown to the model; default `git ls-files`. */
  readonly listFiles?: (repo: string) => Promise<readonly string[]>;
}

const MAX_LISTED_FILES = 400;

async function gitFiles(repo: string): Promise<readonly string[]> {
  const result = await git(repo, ['ls-files', '--cached', '--others', '--exclude-standard'], { allowFailure: true }).catch(() => undefined);
  if (!result || result.exitCode !== 0) return [];
  return result.stdout
    .split('\n')
    .filter((line) => line !== '')
    .slice(0, MAX_LISTED_FILES);
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; problem: MediatorProblem } {
  const trimmed = text
    .trim()
    .replace(/^```(?:json)?\s*/i, '')
    .replace(/\s*```$/, '');
  try {
    return { ok: true, value: JSON.parse(trimmed) as unknown };
  } catch (error) {
    return {
      ok: false,
      problem: {
        kind: MediatorProblemKind.invalidJson,
        message: `the answer is not valid JSON (${errorMessage(error)}): ${JSON.stringify(text.slice(0, 120))}`,
      },
    };
  }
}

function schemaProblems(error: z.ZodError): MediatorProblem[] {
  return error.issues.map((issue) => ({
    kind: MediatorProblemKind.schema,
    field: issue.path.join('.') || undefined,
    message: `${issue.path.join('.') || 'answer'}: ${issue.message}`,
  }));
}

async function fileProblems(task: MediatorTask, request: string, repo: string): Promise<MediatorProblem[]> {
  const problems: MediatorProblem[] = [];
  const asked = new Set(fileMentions(request).map((f) => f.toLowerCase()));
  for (const field of ['target_files', 'context_files'] as const) {
    for (const [index, entry] of task[field].entries()) {
      const check = await checkRepoPath(repo, entry);
      const where = `${field}[${index}]`;
      if (!check.inside) {
        problems.push({ kind: MediatorProblemKind.outsideRepo, field: where, message: `${where}: \`${entry}\` is outside the repository` });
        continue;
      }
      // A file the person named may be one they want created; any other must already exist.
      const requested = field === 'target_files' && (asked.has(entry.toLowerCase()) || asked.has(check.relative.toLowerCase()));
      if (!check.exists && !requested) {
        problems.push({ kind: MediatorProblemKind.missingFile, field: where, message: `${where}: \`${entry}\` does not exist in the repository` });
      }
    }
  }
  return problems;
}

function unavailable(message: string, attempts: number): InterpretResult {
  return { ok: false, reason: 'unavailable', message, attempts };
}

export function expectedStatuses(facts: Pick<SummaryFacts, 'state' | 'commits'>): readonly SummaryStatus[] {
  switch (facts.state) {
    case 'DONE':
      return ['SUCCESS'];
    case 'AWAITING_HUMAN_REVIEW':
      return ['WAITING'];
    case 'FAILED':
    case 'ABORTED':
      return facts.commits.length > 0 ? ['PARTIAL', 'FAILED'] : ['FAILED'];
    default:
      return ['PARTIAL', 'WAITING'];
  }
}

const MAX_SUMMARY_WORDS = 200;

/** Claims a summary can make that the record can refute: status, commit shas, branch names, length. */
function summaryProblems(summary: MediatorSummary, facts: SummaryFacts): MediatorProblem[] {
  const problems: MediatorProblem[] = [];
  const allowed = expectedStatuses(facts);
  if (!allowed.includes(summary.status)) {
    problems.push({
      kind: MediatorProblemKind.contradicts,
      field: 'status',
      message: `status ${summary.status} contradicts the task's state ${facts.state} (use ${allowed.join(' or ')})`,
    });
  }
  const text = [summary.accomplished, ...summary.key_points, ...summary.next_steps].join('\n');
  for (const match of text.matchAll(/\b[0-9a-f]{7,40}\b/g)) {
    const sha = match[0];
    if (/[a-f]/.test(sha) && /\d/.test(sha) && !facts.commits.some((c) => c.startsWith(sha))) {
      problems.push({
        kind: MediatorProblemKind.contradicts,
        field: 'accomplished',
        message: `commit ${sha} is not one of the task's commits (${facts.commits.map((c) => c.slice(0, 10)).join(', ') || 'none'})`,
      });
    }
  }
  for (const match of text.matchAll(/\btandem\/[A-Za-z0-9_-]+/g)) {
    if (match[0] !== facts.branch)
      problems.push({
        kind: MediatorProblemKind.contradicts,
        field: 'accomplished',
        message: `branch ${match[0]} is not the task's branch (${facts.branch ?? 'none'})`,
      });
  }
  const count = text.split(/\s+/).filter((w) => w !== '').length;
  if (count > MAX_SUMMARY_WORDS)
    problems.push({ kind: MediatorProblemKind.schema, message: `the summary has ${count} words; keep it under ${MAX_SUMMARY_WORDS}` });
  return problems;
}

function renderSummary(summary: MediatorSummary, by: string): string {
  const lines = [`${summary.status}: ${summary.accomplished}`];
  if (summary.key_points.length > 0) lines.push('', ...summary.key_points.map((p) => `- ${p}`));
  if (summary.next_steps.length > 0) lines.push('', 'Next steps:', ...summary.next_steps.map((p) => `- ${p}`));
  lines.push('', `(summary by ${by}, checked against the task record)`);
  return `${lines.join('\n')}\n`;
}

export function createMediator(options: MediatorOptions): Mediator {
  const { model } = options;
  const maxRetries = options.maxRetries ?? 2;
  const listFiles = options.listFiles ?? gitFiles;
  const taskSchema = jsonSchemaOf(MediatorTaskSchema);
  const summarySchema = jsonSchemaOf(MediatorSummarySchema);

  return {
    label: model.label,

    async interpret(request, opts) {
      const files = await listFiles(opts.repo);
      let problems: MediatorProblem[] = [];
      let attempts = 0;
      for (let round = 0; round <= maxRetries; round++) {
        attempts++;
        const completion = await model.complete({
          system: interpretSystem,
          prompt: interpretPrompt({ request, files, problems: problems.map((p) => p.message) }),
          schema: taskSchema,
          signal: opts.signal,
        });
        if (!completion.ok) {
          if (completion.kind === MediatorFailureKind.badResponse) {
            problems = [{ kind: MediatorProblemKind.invalidJson, message: completion.message }];
            continue;
          }
          return unavailable(`the local model (${model.label}) is not available: ${completion.message}`, attempts);
        }
        const json = parseJson(completion.text);
        if (!json.ok) {
          problems = [json.problem];
          continue;
        }
        const parsed = MediatorTaskSchema.safeParse(json.value);
        if (!parsed.success) {
          problems = schemaProblems(parsed.error);
          continue;
        }
        const task = parsed.data;
        problems = [...(await fileProblems(task, request, opts.repo)), ...groundingProblems(request, task)];
        if (problems.length > 0) continue;
        const spec = TaskSpecSchema.parse({
          id: opts.id,
          ...task,
          context: `Original request${opts.by ? ` from ${opts.by}` : ''}: ${request}`,
          ...(opts.source ? { source: opts.source } : {}),
        });
        return { ok: true, spec, attempts };
      }
      const message = `the local model's task was rejected after ${attempts} ${attempts === 1 ? 'try' : 'tries'}: ${problems.map((p) => p.message).join('; ')}`;
      return { ok: false, reason: 'rejected', message, problems, attempts };
    },

    async summarize(facts, signal) {
      let problems: MediatorProblem[] = [];
      for (let round = 0; round <= maxRetries; round++) {
        const completion = await model.complete({
          system: summarySystem,
          prompt: summaryPrompt(
            facts,
            problems.map((p) => p.message),
          ),
          schema: summarySchema,
          signal,
        });
        if (!completion.ok) {
          if (completion.kind === MediatorFailureKind.badResponse) {
            problems = [{ kind: MediatorProblemKind.invalidJson, message: completion.message }];
            continue;
          }
          return { ok: false, reason: 'unavailable', message: `the local model (${model.label}) is not available: ${completion.message}` };
        }
        const json = parseJson(completion.text);
        if (!json.ok) {
          problems = [json.problem];
          continue;
        }
        const parsed = MediatorSummarySchema.safeParse(json.value);
        if (!parsed.success) {
          problems = schemaProblems(parsed.error);
          continue;
        }
        problems = summaryProblems(parsed.data, facts);
        if (problems.length === 0) return { ok: true, text: renderSummary(parsed.data, model.label), summary: parsed.data };
      }
      return { ok: false, reason: 'rejected', message: `the local model's summary was rejected: ${problems.map((p) => p.message).join('; ')}` };
    },
  };
}
