import { schemaParser } from './parse-output.js';
import { codeReviewerPrompt } from './prompts/code-reviewer.js';
import { CodeReviewSchema, type CodeReview } from '../model/role-outputs.js';
import type { CodeReviewInput, RoleResult } from '../model/role-contracts.js';
import type { Workspace } from '../workspace/workspace.js';
import type { RoleCaller } from './role-pipeline.js';
import { withStandards, type Standards } from './standards.js';

/** The code-reviewer (DESIGN §4): the step's full diff + the implementer's explanation → a verdict. */
export function codeReviewerWork(deps: { readonly call: RoleCaller; readonly workspace: Workspace; readonly standards?: Standards | undefined }) {
  return async (input: CodeReviewInput, signal: AbortSignal): Promise<RoleResult<CodeReview>> => {
    // The snapshot holds a clipped patch; the reviewer reads the whole diff from the worktree.
    const diff = await deps.workspace.diff(input.worktreePath);
    return deps.call({
      role: 'code-reviewer',
      taskId: input.task.id,
      stepId: input.step.id,
      attempt: input.attempt,
      prompt: await withStandards(
        codeReviewerPrompt({ task: input.task, step: input.step, patch: diff.patch, explanation: input.implementation.report.explanation }),
        deps.standards,
        input.worktreePath,
      ),
      cwd: input.worktreePath,
      schema: CodeReviewSchema,
      parse: schemaParser(CodeReviewSchema),
      signal,
      task: input.task,
      step: input.step,
      authorModel: input.authorModel,
      budgetGrantUsd: input.budgetGrantUsd,
    });
  };
}
