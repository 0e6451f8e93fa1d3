import type { GateReport } from '../../model/gate-report.js';
import type { CodeReview, PlanReview, Validation } from '../../model/role-outputs.js';

/**
 * The feedback texts a role reads on its next call: what a reviewer, the quality gate, a failed
 * call or a person said about the previous answer. They are prompt text, so they live with the
 * prompts; the supervisor machine only decides when to hand them over.
 */

function withSections(opening: string, sections: readonly (readonly [string, readonly string[]])[]): string {
  const lines = [opening];
  for (const [title, items] of sections) {
    if (items.length > 0) lines.push(`${title}:`, ...items.map((i) => `- ${i}`));
  }
  return lines.join('\n');
}

/** Feedback for the implementer from a code review that did not approve. */
export function reviewFeedback(review: CodeReview): string {
  const r = review.review;
  return withSections(`The code reviewer answered "${review.status}".`, [
    ['Required changes', r.required_changes],
    ['Security issues', r.security_issues],
    ['Performance concerns', r.performance_concerns],
    ['Optional improvements', r.optional_improvements],
  ]);
}

/** Feedback for the implementer from a validation of the whole branch that did not pass: a fix-up of the last step. */
export function validationFeedback(validation: Validation): string {
  return withSections(
    "The validator checked the whole branch against the task's goal, constraints and success criteria, and it does not pass yet. Fix these in this step:",
    [['Issues', validation.issues.length > 0 ? validation.issues : ['(the validator named no issue; re-check the success criteria)']]],
  );
}

/**
 * Feedback for the planner from a plan review that did not approve. A `revised_plan` the reviewer
 * wrote is handed over whole: the next round starts from it instead of from scratch.
 */
export function planReviewFeedback(review: PlanReview): string {
  const r = review.review;
  const text = withSections(`The plan reviewer answered "${review.status}".`, [
    ['Missing steps', r.missing_steps],
    ['Concerns', r.concerns],
    ['Suggestions', r.suggestions],
  ]);
  if (!review.revised_plan) return text;
  return [
    text,
    'The reviewer proposed this revised plan. Start from it: keep its steps unless the task gives you a reason not to, address the points above, and answer with a complete plan in the same JSON form.',
    `\`\`\`json\n${JSON.stringify(review.revised_plan, null, 2)}\n\`\`\``,
  ].join('\n\n');
}

/** Feedback for the implementer from a failed quality gate: each failing check with its log excerpt. */
export function gateFeedback(report: GateReport): string {
  const failed = report.checks.filter((c) => !c.passed);
  return [`The quality gate failed: ${report.summary}.`, ...failed.map((c) => `### ${c.name} (${c.kind})\n${c.excerpt}`)].join('\n\n');
}

/** A planner call that failed (bad output, crash): the next call is told why. */
export function failedPlanFeedback(failure: string): string {
  return `Your previous answer failed: ${failure}`;
}

/** An implementer call that failed: the next attempt is told why. */
export function failedImplementationFeedback(failure: string): string {
  return `The implementer call failed: ${failure}`;
}

/** A person's `tandem review --feedback` on a plan. */
export function personPlanFeedback(text: string): string {
  return `A person reviewed the plan and says:\n${text}`;
}

/** A person's `tandem review --feedback` on a step's change. */
export function personStepFeedback(text: string): string {
  return `A person reviewed your change and says:\n${text}`;
}

/** Appends feedback to the feedback already given in this round. */
export function joinFeedback(previous: string | undefined, next: string): string {
  return previous ? `${previous}\n\n${next}` : next;
}
