import { extractJson, schemaParser, type ParseResult } from './parse-output.js';
import { implementerPrompt } from './prompts/implementer.js';
import { reporterPrompt } from './prompts/reporter.js';
import { FindingsReportSchema, ImplementationReportSchema, isReportStep, type FindingsReport, type ImplementationReport } from '../model/role-outputs.js';
import type { Implementation, ImplementInput, RoleResult } from '../model/role-contracts.js';
import type { WorkOptions } from './role-executor.js';
import type { Workspace } from '../workspace/workspace.js';
import type { RoleCaller } from './role-pipeline.js';
import { missingChange } from './step-changes.js';
import { withStandards, type Standards } from './standards.js';

/** Clipped patch kept in the snapshot; reviewers read the full diff from the worktree. */
const SNAPSHOT_PATCH_LIMIT = 16_000;

/**
 * The implementer (DESIGN §4): one step + context + feedback → edits in the worktree. The runtime,
 * not the model, takes the diff; the model's answer supplies the explanation and confidence.
 */
export function implementerWork(deps: { readonly call: RoleCaller; readonly workspace: Workspace; readonly standards?: Standards | undefined }) {
  return async (input: ImplementInput, signal: AbortSignal, options: WorkOptions = {}): Promise<RoleResult<Implementation>> => {
    // Every attempt starts from the last accepted commit, so a re-run after a crash or a retry
    // after a failed review always sees the same starting point. A call whose model already
    // answered (its edits are in the worktree, its answer stored) is finished, not started over.
    if (options.resumed !== true) await deps.workspace.reset(input.worktreePath);
    if (isReportStep(input.task, input.step)) return reportWork(deps, input, signal);
    const result = await deps.call<ImplementationReport>({
      role: 'implementer',
      taskId: input.task.id,
      stepId: input.step.id,
      attempt: input.attempt,
      prompt: await withStandards(implementerPrompt(input), deps.standards, input.worktreePath),
      cwd: input.worktreePath,
      schema: ImplementationReportSchema,
      parse: parseImplementationReport,
      signal,
      task: input.task,
      step: input.step,
      budgetGrantUsd: input.budgetGrantUsd,
    });
    if (!result.ok) return result;
    const diff = await deps.workspace.diff(input.worktreePath);
    // A code step that changed nothing (or none of its planned files) did not do its work: the answer
    // goes back to the implementer as a failed attempt, and no empty commit is ever made for it.
    const missing = missingChange(
      input.step,
      diff.files.map((f) => f.path),
    );
    if (missing !== undefined) {
      const { model, costUsd, estimatedUsd } = result;
      return { ok: false, kind: 'no_progress', error: missing, model, costUsd, ...(estimatedUsd === undefined ? {} : { estimatedUsd }) };
    }
    return {
      ...result,
      value: {
        report: result.value,
        diff: {
          fingerprint: diff.fingerprint,
          files: diff.files.map((f) => f.path),
          insertions: diff.insertions,
          deletions: diff.deletions,
          patch: diff.patch.length > SNAPSHOT_PATCH_LIMIT ? `${diff.patch.slice(0, SNAPSHOT_PATCH_LIMIT)}\n… [truncated]` : diff.patch,
        },
      },
    };
  };
}

const NO_DIFF = { fingerprint: '', files: [], insertions: 0, deletions: 0, patch: '' } as const;

/**
 * A report step: the answer is validated findings (invalid ones are fed back like any bad output),
 * and whatever the model may have edited is discarded, so a report never becomes a commit.
 */
async function reportWork(
  deps: { readonly call: RoleCaller; readonly workspace: Workspace },
  input: ImplementInput,
  signal: AbortSignal,
): Promise<RoleResult<Implementation>> {
  const result = await deps.call<FindingsReport>({
    role: 'implementer',
    taskId: input.task.id,
    stepId: input.step.id,
    attempt: input.attempt,
    prompt: reporterPrompt(input),
    cwd: input.worktreePath,
    schema: FindingsReportSchema,
    parse: schemaParser(FindingsReportSchema),
    signal,
    task: input.task,
    step: input.step,
    budgetGrantUsd: input.budgetGrantUsd,
  });
  if (!result.ok) return result;
  await deps.workspace.reset(input.worktreePath);
  return {
    ...result,
    value: { report: { explanation: result.value.summary, confidence: 0.5, breaking_change: false }, diff: NO_DIFF, findings: result.value },
  };
}

/** Coding CLIs often answer the implementer prompt in prose; the diff is what counts, so any text is accepted. */
function parseImplementationReport(text: string): ParseResult<ImplementationReport> {
  const json = extractJson(text);
  if (json.ok) {
    const parsed = ImplementationReportSchema.safeParse(json.value);
    if (parsed.success) return { ok: true, value: parsed.data };
  }
  return { ok: true, value: { explanation: text.trim().slice(0, 4_000), confidence: 0.5, breaking_change: false } };
}
