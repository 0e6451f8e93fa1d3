import { readFile } from 'node:fs/promises';
import { TaskEventSchema, type TaskEvent } from '../model/task-events.js';
import { formatCost, formatDuration, formatUsd } from '../platform/format.js';
import type { TaskRecord } from '../model/task-record.js';
import { git } from '../workspace/git.js';
import type { Plan } from '../model/role-outputs.js';
import { findingsLines, validationLines } from '../mediator/findings-text.js';

/**
 * `results/<id>.md` of a watched folder: what was done (plan steps and their commits), branch,
 * commits, diff stats, the quality gate's reports, model calls, cost and time. Built from the task
 * record, the task's event log and git, so a restarted watcher writes the same file.
 */

export interface GitFacts {
  readonly commits: readonly { readonly sha: string; readonly subject: string }[];
  readonly diffStat: string;
}

/** Commits and diff stats of the task's branch against its base; undefined once the branch is gone. */
export async function branchFacts(record: TaskRecord): Promise<GitFacts | undefined> {
  if (!record.branch) return undefined;
  const exists = await git(record.repo, ['rev-parse', '--verify', '--quiet', `refs/heads/${record.branch}`], { allowFailure: true }).catch(() => undefined);
  if (!exists || exists.exitCode !== 0) return undefined;
  const range = `${record.baseCommit}..${record.branch}`;
  const log = await git(record.repo, ['log', '--reverse', '--format=%H %s', range]);
  const stat = await git(record.repo, ['diff', '--stat=100', record.baseCommit, record.branch]);
  const commits = log.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => ({ sha: line.slice(0, 40), subject: line.slice(41) }));
  return { commits, diffStat: stat.stdout.trimEnd() };
}

/** The task's events as logged; a torn last line (a killed writer) is skipped. */
export async function readEventLog(path: string): Promise<TaskEvent[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const events: TaskEvent[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const parsed = TaskEventSchema.safeParse(JSON.parse(line));
      if (parsed.success) events.push(parsed.data);
    } catch {
      continue;
    }
  }
  return events;
}

/** First line of a result file: which record state it describes, so it is not rewritten needlessly. */
export function resultMarker(record: TaskRecord): string {
  return `<!-- tandem-result ${record.id} ${record.state} ${record.updatedAt} -->`;
}

export interface ResultInput {
  readonly record: TaskRecord;
  /** The task file's name in the watched folder. */
  readonly source: string;
  readonly events: readonly TaskEvent[];
  readonly git: GitFacts | undefined;
  /** The approved plan, when known (a finished record no longer carries it). */
  readonly plan: Plan | undefined;
  readonly now: number;
}

function table(rows: readonly (readonly [string, string])[]): string[] {
  return ['| | |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v.replace(/\|/g, '\\|').replace(/\n/g, ' ')} |`)];
}

function gateSection(events: readonly TaskEvent[]): string[] {
  const gates = events.filter((e): e is Extract<TaskEvent, { type: 'gate.finished' }> => e.type === 'gate.finished');
  if (gates.length === 0) return ['No quality gate ran.'];
  const lines: string[] = [];
  for (const gate of gates) {
    lines.push(`- ${gate.stepId}, attempt ${gate.attempt}: ${gate.passed ? 'passed' : 'FAILED'} — ${gate.summary} (${formatDuration(gate.duration_ms)})`);
    for (const check of gate.checks) {
      lines.push(`  - ${check.passed ? '✓' : '✗'} ${check.name} (${formatDuration(check.duration_ms)})`);
      if (!check.passed && check.excerpt)
        lines.push(
          '',
          '    ```',
          ...check.excerpt
            .split('\n')
            .slice(-15)
            .map((l) => `    ${l}`),
          '    ```',
          '',
        );
    }
  }
  return lines;
}

function callsSection(events: readonly TaskEvent[]): string[] {
  const calls = new Map<string, { calls: number; tokensIn: number; tokensOut: number; cost: number; estimated: boolean; failed: number }>();
  for (const e of events) {
    if (e.type !== 'role.finished') continue;
    const key = `${e.role} · ${e.model} [${e.runner}]`;
    const row = calls.get(key) ?? { calls: 0, tokensIn: 0, tokensOut: 0, cost: 0, estimated: false, failed: 0 };
    row.calls += e.tries;
    row.tokensIn += e.tokens_input;
    row.tokensOut += e.tokens_output;
    row.cost += e.cost_usd;
    row.estimated ||= e.tokens_estimated;
    if (!e.success) row.failed += 1;
    calls.set(key, row);
  }
  if (calls.size === 0) return ['No model calls recorded.'];
  return [...calls].map(([key, r]) => {
    const approx = r.estimated ? '~' : '';
    return `- ${key}: ${r.calls} call${r.calls === 1 ? '' : 's'}${r.failed > 0 ? ` (${r.failed} failed)` : ''}, ${approx}${r.tokensIn}→${approx}${r.tokensOut} tokens, ${formatUsd(r.cost)}`;
  });
}

export function renderResult(input: ResultInput): string {
  const { record } = input;
  const duration = (record.finishedAt ?? input.now) - record.createdAt;
  const { plan } = input;
  const committed = new Map(record.commits.map((c) => [c.stepId, c.sha]));
  const title = record.spec.title ?? record.spec.goal.split('\n')[0] ?? record.id;
  const lines = [resultMarker(record), `# ${record.id}: ${title}`, ''];
  lines.push(
    ...table([
      ['State', record.state],
      ['Source', input.source],
      ['Repository', `${record.repo} (base ${record.base} @ ${record.baseCommit.slice(0, 10)})`],
      ['Branch', record.branch ?? '-'],
      ['Steps', record.stepCount ? `${record.commits.length}/${record.stepCount} committed` : '-'],
      ['Cost', formatCost(record.costUsd, record.estimatedCostUsd)],
      ['Time', formatDuration(duration)],
      ['Priority', record.spec.priority],
    ]),
  );
  lines.push('', '## Goal', '', record.spec.goal.trim(), '');
  if (record.state === 'AWAITING_HUMAN_REVIEW' && record.waiting) {
    lines.push(
      '## Waiting for a person',
      '',
      `${record.waiting.stage}, ${record.waiting.kind}: ${record.waiting.reason}`,
      '',
      `Decide with \`tandem review ${record.id} --approve | --feedback "…" | --skip-step | --abort\` or /review in Telegram.`,
      '',
    );
  } else if ((record.state === 'FAILED' || record.state === 'ABORTED') && record.failure) {
    lines.push(`## Why it ${record.state === 'FAILED' ? 'failed' : 'was aborted'}`, '', record.failure, '');
  }
  lines.push('## What was done', '');
  if (plan) {
    for (const step of plan.steps) {
      const sha = committed.get(step.id);
      lines.push(`- ${step.id} (${step.type}): ${step.description} — ${sha ? `committed ${sha.slice(0, 10)}` : 'not committed'}`);
    }
  } else if (input.git && input.git.commits.length > 0) {
    lines.push(...input.git.commits.map((c) => `- ${c.subject} — committed ${c.sha.slice(0, 10)}`));
  } else if (record.commits.length > 0) {
    lines.push(...record.commits.map((c) => `- ${c.stepId} — committed ${c.sha.slice(0, 10)}`));
  } else {
    lines.push(record.stepCount ? 'No step was committed.' : 'No plan was made.');
  }
  if (record.findings && record.findings.length > 0) lines.push('', '## Findings', '', ...findingsLines(record.findings));
  if (record.validation) lines.push('', '## Validation', '', ...validationLines(record.validation));
  lines.push('', '## Commits', '');
  if (input.git && input.git.commits.length > 0) lines.push(...input.git.commits.map((c) => `- ${c.sha.slice(0, 10)} ${c.subject}`));
  else if (record.commits.length > 0) lines.push(...record.commits.map((c) => `- ${c.sha.slice(0, 10)} (step ${c.stepId})`));
  else lines.push('No commits.');
  lines.push('', '## Diff stats', '');
  if (input.git && input.git.diffStat !== '') lines.push('```', input.git.diffStat, '```');
  else lines.push(record.branch && !input.git ? `The branch ${record.branch} no longer exists.` : 'No changes.');
  lines.push('', '## Quality gate', '', ...gateSection(input.events));
  lines.push('', '## Model calls', '', ...callsSection(input.events));
  return `${lines.join('\n')}\n`;
}
