import type { TaskSpec } from '../../model/task-spec.js';
import type { RepoSnapshot } from '../../workspace/workspace.js';
import { PlanSchema } from '../../model/role-outputs.js';
import { answerFormat, clip, taskSection } from './common.js';

export function plannerPrompt(input: { task: TaskSpec; snapshot: RepoSnapshot; feedback?: string | undefined; round: number }): string {
  const { task, snapshot } = input;
  const parts = [
    'You are the PLANNER of a team of coding agents. Write a step-by-step plan for the task below.',
    'Each step must be small enough for one focused change that can be reviewed and tested on its own.',
    'Steps that change code must say which files they create or modify and whether tests are required.',
    'Do not edit any file: only plan.',
    '',
    taskSection(task),
    '',
    '## Repository',
    `Files (${snapshot.files.length}):`,
    clip(snapshot.files.join('\n'), 8_000),
    '',
    `git status: ${snapshot.status.trim() === '' ? 'clean' : snapshot.status}`,
  ];
  for (const file of snapshot.contextFiles) parts.push('', `### ${file.path}`, '```', clip(file.content, 12_000), '```');
  if (input.feedback) parts.push('', `## Review of your previous plan (round ${input.round - 1}); address every point`, input.feedback);
  parts.push('', `Use task_id "${task.id}" and plan_version ${input.round}.`, '', answerFormat(PlanSchema));
  return parts.join('\n');
}
