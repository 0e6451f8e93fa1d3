import { MediatorSummarySchema, MediatorTaskSchema, type SummaryFacts } from './mediator-schemas.js';
import { answerFormat, clip } from '../roles/prompts/common.js';
import { findingsBrief } from './findings-text.js';
import { verdictLine } from '../model/role-outputs.js';

/** Prompts of the mediator (seed 003 "LLAMA mediator"): request → task, task record → summary. */

export const interpretSystem = [
  "You turn a person's free-form request into ONE task for a team of coding agents working in a git repository.",
  'Stay with what the person asked: keep their words for the goal, keep every file they name, add nothing they did not ask for.',
  'Name only files from the repository file list, or files the person explicitly asked to create.',
  'Answer with JSON only.',
].join(' ');

export function interpretPrompt(input: { request: string; files: readonly string[]; problems?: readonly string[] | undefined }): string {
  const parts = [
    '## Request',
    input.request,
    '',
    '## Repository files',
    input.files.length === 0 ? '(none listed)' : clip(input.files.join('\n'), 6_000),
    '',
    '## How to fill the task',
    '- title: a few words.',
    '- goal: the request restated as an instruction, with its key terms and file names.',
    '- target_files: files to change (from the list above, or named in the request); context_files: files to read (from the list above).',
    '- success_criteria: checkable statements, e.g. "a test covers the timeout path".',
    '- type, risk, area, priority: your best reading of the request; priority is medium unless the person says it is urgent or can wait.',
  ];
  if (input.problems && input.problems.length > 0) {
    parts.push('', '## Your previous answer was rejected; fix every point', ...input.problems.map((p) => `- ${p}`));
  }
  parts.push('', answerFormat(MediatorTaskSchema));
  return parts.join('\n');
}

export const summarySystem = [
  'You summarize the result of a coding task for a busy developer.',
  'Use only the facts given. Do not invent commits, branches, files, numbers or outcomes.',
  'Keep it under 150 words. Answer with JSON only.',
].join(' ');

export function summaryPrompt(facts: SummaryFacts, problems?: readonly string[]): string {
  const lines = [
    '## Facts from the task record',
    `Task: ${facts.id}${facts.title ? ` (${facts.title})` : ''}`,
    `Goal: ${clip(facts.goal, 1_500)}`,
    `Final state: ${facts.state}`,
    `Branch: ${facts.branch ?? 'none'}`,
    `Commits: ${facts.commits.length === 0 ? 'none' : facts.commits.map((c) => c.slice(0, 10)).join(', ')}`,
    `Steps: ${facts.steps.length === 0 ? 'no plan' : facts.steps.map((s) => `${s.id} ${s.committed ? '(committed)' : '(not committed)'}${s.description ? `: ${s.description}` : ''}`).join('; ')}`,
    `Cost: $${facts.costUsd.toFixed(4)}; time: ${Math.round(facts.durationMs / 1000)} s`,
  ];
  if (facts.reason) lines.push(`Reason it stopped or waits: ${clip(facts.reason, 1_000)}`);
  // An analysis task delivers findings, not commits: the summary must say what was found.
  if (facts.findings && facts.findings.length > 0)
    lines.push('Findings (report what was found):', ...findingsBrief(facts.findings).map((f) => `- ${clip(f, 400)}`));
  if (facts.validation)
    lines.push(`Validation of the branch: ${verdictLine(facts.validation)}`, ...facts.validation.issues.map((i) => `- issue: ${clip(i, 400)}`));
  lines.push(
    '',
    '## Status to use',
    '- SUCCESS: state DONE.',
    '- WAITING: state AWAITING_HUMAN_REVIEW (a person must decide).',
    '- PARTIAL: FAILED or ABORTED with some commits; FAILED: FAILED or ABORTED with none.',
  );
  if (problems && problems.length > 0) lines.push('', '## Your previous answer was rejected; fix every point', ...problems.map((p) => `- ${p}`));
  lines.push('', answerFormat(MediatorSummarySchema));
  return lines.join('\n');
}
