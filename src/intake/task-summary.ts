import type { Mediator } from '../mediator/mediator.js';
import { findingsBrief } from '../mediator/findings-text.js';
import { expectedStatuses } from '../mediator/mediator.js';
import type { SummaryFacts } from '../mediator/mediator-schemas.js';
import { PlanSchema, verdictLine, type Plan } from '../model/role-outputs.js';
import type { TaskRecord } from '../model/task-record.js';
import type { Logger } from '../telemetry/logger.js';
import { formatCost, formatDuration } from '../platform/format.js';

/**
 * Short summaries of a task for a person (summaries/<id>.md, Telegram notices): from the mediator
 * when a local model answers and its summary agrees with the record, else a template built from the
 * record alone. Both say which one they are.
 */

/** The plan lives in the machine snapshot; read defensively, since the snapshot is XState's format. */
export function planOf(record: TaskRecord): Plan | undefined {
  const snapshot = record.snapshot;
  if (typeof snapshot !== 'object' || snapshot === null || !('context' in snapshot)) return undefined;
  const context = snapshot.context;
  if (typeof context !== 'object' || context === null || !('plan' in context)) return undefined;
  const parsed = PlanSchema.safeParse(context.plan);
  return parsed.success ? parsed.data : undefined;
}

/**
 * A finished record no longer carries the machine snapshot, so its plan comes from `plan` when the
 * caller kept one; without it the steps are the committed ones, which is what was done.
 */
export function summaryFacts(record: TaskRecord, now: number = Date.now(), knownPlan?: Plan): SummaryFacts {
  const committed = new Set(record.commits.map((c) => c.stepId));
  const plan = planOf(record) ?? knownPlan;
  const steps = plan
    ? plan.steps.map((s) => ({ id: s.id, description: s.description, committed: committed.has(s.id) }))
    : record.commits.map((c) => ({ id: c.stepId, description: '', committed: true }));
  return {
    id: record.id,
    title: record.spec.title,
    goal: record.spec.goal,
    state: record.state,
    branch: record.branch,
    commits: record.commits.map((c) => c.sha),
    steps,
    stepCount: record.stepCount,
    costUsd: record.costUsd,
    estimatedCostUsd: record.estimatedCostUsd,
    durationMs: (record.finishedAt ?? now) - record.createdAt,
    reason: record.state === 'AWAITING_HUMAN_REVIEW' ? record.waiting?.reason : record.failure,
    ...(record.findings && record.findings.length > 0 ? { findings: record.findings } : {}),
    ...(record.validation ? { validation: record.validation } : {}),
  };
}

function firstLine(text: string, max = 160): string {
  const line = text.trim().split('\n')[0] ?? '';
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** The summary without a model: every statement comes from the record. */
export function templateSummary(facts: SummaryFacts, note?: string): string {
  const status = expectedStatuses(facts)[0] ?? 'PARTIAL';
  const done = facts.steps.filter((s) => s.committed).length;
  const total = facts.stepCount ?? facts.steps.length;
  const headline =
    facts.state === 'DONE'
      ? `${facts.id} is done: ${firstLine(facts.title ?? facts.goal)}`
      : facts.state === 'AWAITING_HUMAN_REVIEW'
        ? `${facts.id} waits for a person: ${firstLine(facts.reason ?? 'no reason recorded')}`
        : `${facts.id} ${facts.state.toLowerCase()}: ${firstLine(facts.reason ?? 'no reason recorded')}`;
  const lines = [`${status}: ${headline}`, ''];
  lines.push(
    `- Steps: ${total > 0 ? `${done}/${total} committed` : 'no plan yet'}; ${facts.commits.length} commit${facts.commits.length === 1 ? '' : 's'}${facts.branch ? ` on ${facts.branch}` : ''}`,
  );
  lines.push(`- Cost ${formatCost(facts.costUsd, facts.estimatedCostUsd)}, time ${formatDuration(facts.durationMs)}`);
  if (facts.findings && facts.findings.length > 0) {
    const count = facts.findings.reduce((n, f) => n + f.report.findings.length, 0);
    lines.push(`- Findings: ${count}`, ...findingsBrief(facts.findings).map((f) => `  - ${firstLine(f, 240)}`));
  }
  if (facts.validation)
    lines.push(
      `- Validation: ${verdictLine(facts.validation)}${facts.validation.issues.length > 0 ? `: ${firstLine(facts.validation.issues.join('; '), 240)}` : ''}`,
    );
  if (facts.state === 'AWAITING_HUMAN_REVIEW') lines.push(`- Decide with \`tandem review ${facts.id}\` or /review in Telegram`);
  lines.push('', `(summary from the task record${note ? `; ${note}` : ''})`);
  return `${lines.join('\n')}\n`;
}

const UNREACHABLE_NOTE = 'the local model is not reachable';
const RETRY_UNAVAILABLE_MS = 60_000;

export interface TaskSummaries {
  /** The summary for the record as it is now; one model call per (task, state, update). */
  summarize(record: TaskRecord, plan?: Plan): Promise<string>;
}

export function createTaskSummaries(options: { mediator?: Mediator | undefined; logger: Logger; now?: () => number }): TaskSummaries {
  const cache = new Map<string, Promise<string>>();
  const now = options.now ?? Date.now;
  // A model found unreachable is not waited for again for a while (a timeout can take minutes).
  let unavailableUntil = 0;
  return {
    summarize(record, plan) {
      const key = `${record.id}:${record.state}:${record.updatedAt}`;
      const cached = cache.get(key);
      if (cached) return cached;
      const facts = summaryFacts(record, now(), plan);
      const mediator = options.mediator;
      const promise = (async (): Promise<string> => {
        if (!mediator) return templateSummary(facts, 'no local model configured');
        if (now() < unavailableUntil) return templateSummary(facts, UNREACHABLE_NOTE);
        const result = await mediator.summarize(facts);
        if (result.ok) return result.text;
        options.logger.warn({ task: record.id, reason: result.reason, error: result.message }, 'the mediator gave no usable summary; using the template');
        if (result.reason === 'unavailable') unavailableUntil = now() + RETRY_UNAVAILABLE_MS;
        return templateSummary(facts, result.reason === 'unavailable' ? UNREACHABLE_NOTE : "the local model's summary did not match the record");
      })();
      cache.set(key, promise);
      if (cache.size > 1_000) cache.delete(cache.keys().next().value ?? key);
      return promise;
    },
  };
}
