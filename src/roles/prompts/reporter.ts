import type { TaskSpec } from '../../model/task-spec.js';
import { FindingsReportSchema, type Plan, type PlanStep } from '../../model/role-outputs.js';
import { answerFormat, clip, taskSection } from './common.js';

/** The implementer's prompt for a report step: read and answer with findings; edit nothing. */
export function reporterPrompt(input: { task: TaskSpec; plan: Plan; step: PlanStep; attempt: number; feedback?: string | undefined }): string {
  const { step } = input;
  const parts = [
    'You are the IMPLEMENTER of a REPORT step: read the repository in the current directory and answer with',
    'structured findings. Do NOT edit, create or delete files: this step delivers a report, not a change.',
    'Point each finding at a file and line where it applies; end with concrete recommendations.',
    '',
    taskSection(input.task),
    '',
    `## Step ${step.id} (${step.type})`,
    step.description,
  ];
  const files = [...step.files_to_read, ...step.files_to_modify];
  if (files.length > 0) parts.push('', 'Files to read:', ...files.map((f) => `- ${f}`));
  parts.push('', '## Whole plan (for context)', ...input.plan.steps.map((s) => `- ${s.id}: ${s.description}`));
  if (input.feedback) parts.push('', `## This is attempt ${input.attempt}. The previous answer was not accepted`, clip(input.feedback, 16_000));
  parts.push('', answerFormat(FindingsReportSchema));
  return parts.join('\n');
}
