import { schemaParser } from './parse-output.js';
import { validatorPrompt } from './prompts/validator.js';
import { ValidationSchema, type Validation } from '../model/role-outputs.js';
import type { RoleResult, ValidateInput } from '../model/role-contracts.js';
import type { Workspace } from '../workspace/workspace.js';
import type { RoleCaller } from './role-pipeline.js';
import { withStandards, type Standards } from './standards.js';

/**
 * The validator (seeds 000/001): after the last step, the whole branch (every commit since the base)
 * and any findings, checked against the task's goal, constraints and success criteria.
 */
export function validatorWork(deps: { readonly call: RoleCaller; readonly workspace: Workspace; readonly standards?: Standards | undefined }) {
  return async (input: ValidateInput, signal: AbortSignal): Promise<RoleResult<Validation>> => {
    const diff = await deps.workspace.diff(input.worktreePath, input.baseCommit);
    return deps.call({
      role: 'validator',
      taskId: input.task.id,
      attempt: input.call,
      prompt: await withStandards(
        validatorPrompt({ task: input.task, plan: input.plan, patch: diff.patch, findings: input.findings }),
        deps.standards,
        input.worktreePath,
      ),
      cwd: input.worktreePath,
      schema: ValidationSchema,
      parse: schemaParser(ValidationSchema),
      signal,
      task: input.task,
      authorModel: input.authorModel,
      budgetGrantUsd: input.budgetGrantUsd,
    });
  };
}
