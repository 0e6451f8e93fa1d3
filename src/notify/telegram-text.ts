import { isTerminal, type TaskState } from '../model/task-events.js';
import { formatCost, formatDuration } from '../platform/format.js';
import type { TaskRecord } from '../model/task-record.js';
import type { TaskSpec } from '../model/task-spec.js';
import { planOf } from '../intake/task-summary.js';

/** The bot's texts, plain (no parse_mode), so nothing a task or a model says needs escaping. */

/** Telegram's limit is 4096 characters per message. */
const MAX_MESSAGE = 4_000;

export function clipMessage(text: string, max = MAX_MESSAGE): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export const HELP = [
  'tandem runs coding tasks for you.',
  '',
  '/task <what to do> — a request in your words; a local model turns it into a task, which is checked before it runs.',
  '/task followed by a whole *.task.md (starting with ---) — a structured task, no model needed.',
  '/status [task id] — state, step, attempt and cost.',
  '/review — tasks waiting for you, with buttons to approve, give feedback, skip the step or abort.',
  '/cancel — forget a feedback you started.',
].join('\n');

export const REFUSAL = 'Sorry, this bot only serves the chats it was set up for.';

const ICON: Partial<Record<TaskState, string>> = { DONE: '✅', FAILED: '❌', ABORTED: '⏹', AWAITING_HUMAN_REVIEW: '✋', PAUSED: '⏸' };

function firstLine(text: string, max = 120): string {
  const line = text.trim().split('\n')[0] ?? '';
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

function stepText(record: TaskRecord): string | undefined {
  const finished = isTerminal(record.state);
  if (record.stepId && !finished) return `step ${record.stepId} (${(record.stepIndex ?? 0) + 1}/${record.stepCount ?? '?'})`;
  if (record.stepCount) return `${record.commits.length}/${record.stepCount} steps`;
  return undefined;
}

export function statusLine(record: TaskRecord): string {
  const parts = [`${ICON[record.state] ?? '•'} ${record.id}`, record.state];
  const step = stepText(record);
  if (step) parts.push(step);
  if (record.attempt > 0 && record.state !== 'DONE') parts.push(`attempt ${record.attempt}`);
  parts.push(formatCost(record.costUsd, record.estimatedCostUsd));
  return parts.join(' · ');
}

export function statusDetail(record: TaskRecord, now: number): string {
  const lines = [`${ICON[record.state] ?? '•'} ${record.id}: ${record.state}`, firstLine(record.spec.title ?? record.spec.goal)];
  const step = stepText(record);
  if (step) lines.push(`Step: ${step}`);
  lines.push(`Attempt: ${record.attempt}`);
  lines.push(`Cost: ${formatCost(record.costUsd, record.estimatedCostUsd)} · time ${formatDuration((record.finishedAt ?? now) - record.createdAt)}`);
  if (record.branch) lines.push(`Branch: ${record.branch} (${record.commits.length} commit${record.commits.length === 1 ? '' : 's'})`);
  if (record.state === 'AWAITING_HUMAN_REVIEW' && record.waiting)
    lines.push(`Waits for you (${record.waiting.stage}, ${record.waiting.kind}): ${record.waiting.reason}`, 'Decide with /review.');
  if ((record.state === 'FAILED' || record.state === 'ABORTED') && record.failure) lines.push(`Why: ${record.failure}`);
  if (record.state === 'PAUSED' && record.pausedUntil) lines.push(`Paused until ${new Date(record.pausedUntil).toISOString()}`);
  return lines.join('\n');
}

export function createdText(spec: TaskSpec, via: 'mediator' | 'task-file'): string {
  const lines = [
    `🆕 Task ${spec.id} queued (${spec.priority} priority)${via === 'mediator' ? ', as understood by the local model' : ''}:`,
    '',
    spec.title ? `${spec.title}\n${spec.goal}` : spec.goal,
  ];
  if (spec.target_files.length > 0) lines.push('', `Files: ${spec.target_files.join(', ')}`);
  if (spec.success_criteria.length > 0) lines.push('', 'Done when:', ...spec.success_criteria.map((c) => `- ${c}`));
  lines.push('', 'I will send the plan once it is reviewed, and a notice when the task ends or needs you.');
  return clipMessage(lines.join('\n'));
}

export function planText(record: TaskRecord): string | undefined {
  const plan = planOf(record);
  if (!plan) return undefined;
  const lines = [
    `📋 Plan for ${record.id} (${plan.steps.length} step${plan.steps.length === 1 ? '' : 's'}):`,
    ...plan.steps.map((s, i) => `${i + 1}. ${s.id} (${s.type}): ${s.description}`),
  ];
  return clipMessage(lines.join('\n'));
}

export function noticeText(record: TaskRecord, summary: string): string {
  const head =
    record.state === 'AWAITING_HUMAN_REVIEW'
      ? `✋ ${record.id} needs you${record.waiting ? ` (${record.waiting.stage}, ${record.waiting.kind}): ${record.waiting.reason}` : ''}`
      : `${ICON[record.state] ?? '•'} ${record.id} ${record.state}`;
  return clipMessage(`${head}\n\n${summary.trim()}`);
}

export function reviewText(record: TaskRecord): string {
  const waiting = record.waiting ? `${record.waiting.stage}, ${record.waiting.kind}: ${record.waiting.reason}` : 'no reason recorded';
  return clipMessage(`✋ ${record.id} waits for you\n${firstLine(record.spec.title ?? record.spec.goal)}\n\n${waiting}`);
}
