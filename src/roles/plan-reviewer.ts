import { schemaParser } from './parse-output.js';
import { planReviewerPrompt } from './prompts/plan-reviewer.js';
import { PlanReviewSchema, type PlanReview } from '../model/role-outputs.js';
import type { PlanReviewInput, RoleResult } from '../model/role-contracts.js';
import type { RoleCaller } from './role-pipeline.js';

/** The plan-reviewer (DESIGN §4): plan + task → approved, needs_revision or rejected, never on the planner's model. */
export function planReviewerWork(deps: { readonly call: RoleCaller }) {
  return (input: PlanReviewInput, signal: AbortSignal): Promise<RoleResult<PlanReview>> =>
    deps.call({
      role: 'plan-reviewer',
      taskId: input.task.id,
      attempt: input.call,
      prompt: planReviewerPrompt({ task: input.task, plan: input.plan }),
      cwd: input.worktreePath,
      schema: PlanReviewSchema,
      parse: schemaParser(PlanReviewSchema),
      signal,
      task: input.task,
      authorModel: input.authorModel,
      budgetGrantUsd: input.budgetGrantUsd,
    });
}
