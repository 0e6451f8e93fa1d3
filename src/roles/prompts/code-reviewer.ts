import type { TaskSpec } from '../../model/task-spec.js';
import { CodeReviewSchema, type PlanStep } from '../../model/role-outputs.js';
import { answerFormat, clip, taskSection } from './common.js';

export function codeReviewerPrompt(input: { task: TaskSpec; step: PlanStep; patch: string; explanation: string }): string {
  return [
    'You are the CODE REVIEWER. Another model wrote the change below for one step of a plan. Review it for',
    'correctness, quality, tests, performance and security. Answer "approved" only if it can be committed as is;',
    '"needs_changes" with concrete required_changes otherwise; "rejected" if the approach is wrong. Tests and',
    'linters run separately after you; focus on what they cannot see. Do not edit any file.',
    '',
    taskSection(input.task),
    '',
    `## Step ${input.step.id}`,
    input.step.description,
    '',
    "## The implementer's explanation",
    input.explanation || '(none)',
    '',
    '## Diff',
    '```diff',
    clip(input.patch, 60_000),
    '```',
    '',
    answerFormat(CodeReviewSchema),
  ].join('\n');
}
