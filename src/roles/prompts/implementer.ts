import type { TaskSpec } from '../../model/task-spec.js';
import { ImplementationReportSchema, type Plan, type PlanStep } from '../../model/role-outputs.js';
import { answerFormat, clip, taskSection } from './common.js';

export function implementerPrompt(input: { task: TaskSpec; plan: Plan; step: PlanStep; attempt: number; feedback?: string | undefined }): string {
  const { step } = input;
  const parts = [
    'You are the IMPLEMENTER. Make the change for ONE step of an approved plan, editing files in the current',
    'directory (a git worktree of the repository). Change only what the step needs; keep the existing tests',
    'passing and add tests where the step requires them. Do not commit: the orchestrator reviews and commits.',
    '',
    taskSection(input.task),
    '',
    `## Step ${step.id} (${step.type}, risk ${step.risk}, complexity ${step.estimated_complexity})`,
    step.description,
  ];
  const list = (title: string, items: readonly string[]): void => {
    if (items.length > 0) parts.push('', `${title}:`, ...items.map((i) => `- ${i}`));
  };
  list('Files to read', step.files_to_read);
  list('Files to create', step.files_to_create);
  list('Files to modify', step.files_to_modify);
  list('Commands that must pass', step.commands);
  if (step.tests_required) parts.push('', 'Tests are required for this step.');
  parts.push('', '## Whole plan (for context)', ...input.plan.steps.map((s) => `- ${s.id}: ${s.description}`));
  if (input.feedback) {
    parts.push('', `## This is attempt ${input.attempt}. The previous attempt was not accepted; fix every point below`, clip(input.feedback, 16_000));
    parts.push('', 'The worktree was reset to the last accepted commit: make the complete change again.');
  }
  parts.push('', 'When you are done, summarize what you changed.', answerFormat(ImplementationReportSchema));
  return parts.join('\n');
}
