import type { ReviewDecision } from '../model/task-events.js';
import { EscalationKind } from '../model/role-contracts.js';
import type { TaskRecord } from '../model/task-record.js';

/**
 * Why a person's decision does not fit the task as stored, told before the machine sees it: the
 * machine would ignore a decision its state has no transition for, and the person would never
 * know why nothing happened.
 */
export function decisionProblem(record: TaskRecord, decision: ReviewDecision): { field: string; message: string } | undefined {
  const id = record.id;
  if (record.state !== 'AWAITING_HUMAN_REVIEW') return { field: 'task', message: `task ${id} is ${record.state}, not waiting for a person` };
  const stage = record.waiting?.stage;
  if (decision.decision === 'skip_step' && stage !== 'step') {
    return { field: 'decision', message: `task ${id} waits on its plan; there is no step to skip (use --approve, --feedback or --abort)` };
  }
  if (decision.decision === 'raise_budget' && record.waiting?.kind !== EscalationKind.budget) {
    return {
      field: 'decision',
      message: `task ${id} waits for a person because of ${record.waiting?.kind ?? 'something else'}, not a budget (use --approve, --feedback, --skip-step or --abort)`,
    };
  }
  if (decision.decision === 'approve' && stage === 'plan' && !record.snapshot) return { field: 'decision', message: `task ${id} has no plan to approve` };
  return undefined;
}
