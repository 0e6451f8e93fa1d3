import { schemaParser } from './parse-output.js';
import { plannerPrompt } from './prompts/planner.js';
import { PlanSchema, type Plan } from '../model/role-outputs.js';
import type { PlanInput, RoleResult } from '../model/role-contracts.js';
import type { Workspace } from '../workspace/workspace.js';
import type { RoleCaller } from './role-pipeline.js';

/** The planner (DESIGN §4): task + repository snapshot → Plan. */
export function plannerWork(deps: { readonly call: RoleCaller; readonly workspace: Workspace }) {
  return async (input: PlanInput, signal: AbortSignal): Promise<RoleResult<Plan>> => {
    const snapshot = await deps.workspace.snapshot(input.worktreePath, input.task.context_files, signal);
    const result = await deps.call({
      role: 'planner',
      taskId: input.task.id,
      attempt: input.call,
      prompt: plannerPrompt({ task: input.task, snapshot, feedback: input.feedback, round: input.round }),
      cwd: input.worktreePath,
      schema: PlanSchema,
      parse: schemaParser(PlanSchema),
      signal,
      task: input.task,
      budgetGrantUsd: input.budgetGrantUsd,
    });
    // The plan is the task's, whatever id the model wrote into it.
    return result.ok ? { ...result, value: { ...result.value, task_id: input.task.id, plan_version: input.round } } : result;
  };
}
