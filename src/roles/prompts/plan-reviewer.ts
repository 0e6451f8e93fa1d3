import type { TaskSpec } from '../../model/task-spec.js';
import { PlanReviewSchema, type Plan } from '../../model/role-outputs.js';
import { answerFormat, taskSection } from './common.js';

export function planReviewerPrompt(input: { task: TaskSpec; plan: Plan }): string {
  return [
    'You are the PLAN REVIEWER. Another model wrote the plan below; check it critically for completeness,',
    'feasibility and risk. Answer "approved" only if the plan can be carried out as written; "needs_revision"',
    'with concrete missing_steps, concerns and suggestions if it can be fixed; "rejected" if the task itself',
    'should not be done this way and a person must decide. Do not edit any file.',
    '',
    taskSection(input.task),
    '',
    '## Plan',
    '```json',
    JSON.stringify(input.plan, null, 1),
    '```',
    '',
    answerFormat(PlanReviewSchema),
  ].join('\n');
}
