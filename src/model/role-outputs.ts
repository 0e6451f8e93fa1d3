import { z } from 'zod';
import { REPORT_TASK_TYPES, RiskSchema, type TaskSpec } from './task-spec.js';

/**
 * Output contracts of the model roles (DESIGN §4, seed 002 §2). Model output is parsed with these
 * schemas; invalid output is fed back to the model with the validation error.
 */

export const StepIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/, 'must be a short id such as S1');

export const PlanStepSchema = z.object({
  id: StepIdSchema,
  type: z.enum(['analysis', 'implementation', 'testing', 'validation', 'docs', 'refactor', 'config']),
  description: z.string().min(1),
  risk: RiskSchema.default('medium'),
  estimated_complexity: z.enum(['trivial', 'small', 'medium', 'large']).default('medium'),
  files_to_read: z.array(z.string()).default([]),
  files_to_create: z.array(z.string()).default([]),
  files_to_modify: z.array(z.string()).default([]),
  tests_required: z.boolean().default(false),
  commands: z.array(z.string()).default([]),
});
export type PlanStep = z.infer<typeof PlanStepSchema>;

/** Step types that produce a report (findings) instead of a change to the code. */
const REPORT_STEP_TYPES: ReadonlySet<PlanStep['type']> = new Set(['analysis', 'validation']);

/** A code step must change the repository; a report step answers with findings and changes nothing. */
export function isCodeStep(step: Pick<PlanStep, 'type'>): boolean {
  return !REPORT_STEP_TYPES.has(step.type);
}

/** Whether a step answers with a report: a report step type, or any step of an analysis task. */
export function isReportStep(task: Pick<TaskSpec, 'type'>, step: Pick<PlanStep, 'type'>): boolean {
  return REPORT_TASK_TYPES.has(task.type) || !isCodeStep(step);
}

/** One finding of a report step, pointing at a file and line where it applies. */
const FindingSchema = z.object({
  description: z.string().min(1),
  file: z.string().min(1).optional(),
  line: z.number().int().positive().optional(),
  severity: z.enum(['high', 'medium', 'low', 'info']).default('info'),
});
export type Finding = z.infer<typeof FindingSchema>;

/** What a report step (analysis, summary, review, validation) delivers instead of a diff. */
export const FindingsReportSchema = z.object({
  summary: z.string().trim().min(1, 'must not be empty'),
  findings: z.array(FindingSchema).default([]),
  recommendations: z.array(z.string().min(1)).default([]),
});
export type FindingsReport = z.infer<typeof FindingsReportSchema>;

/** A report step's findings, kept with the task. */
export const StepFindingsSchema = z.object({ stepId: z.string(), report: FindingsReportSchema });
export type StepFindings = z.infer<typeof StepFindingsSchema>;

/** `file:line` of a finding, or `file`, or nothing. */
export function findingPlace(finding: Pick<Finding, 'file' | 'line'>): string | undefined {
  if (finding.file === undefined) return undefined;
  return finding.line === undefined ? finding.file : `${finding.file}:${finding.line}`;
}

export const PlanSchema = z
  .object({
    task_id: z.string(),
    plan_version: z.number().int().positive().default(1),
    steps: z.array(PlanStepSchema).min(1, 'a plan needs at least one step').max(30),
    estimated_duration: z.string().optional(),
    dependencies: z.array(z.string()).default([]),
    rollback_strategy: z.string().optional(),
  })
  .superRefine((plan, ctx) => {
    const seen = new Set<string>();
    plan.steps.forEach((step, index) => {
      if (seen.has(step.id)) ctx.addIssue({ code: 'custom', path: ['steps', index, 'id'], message: `duplicate step id ${step.id}` });
      seen.add(step.id);
    });
  });
export type Plan = z.infer<typeof PlanSchema>;

const score = z.number().min(0).max(10);

export const PlanReviewSchema = z.object({
  status: z.enum(['approved', 'needs_revision', 'rejected']),
  review: z
    .object({
      completeness: score.optional(),
      feasibility: score.optional(),
      risk_assessment: score.optional(),
      missing_steps: z.array(z.string()).default([]),
      concerns: z.array(z.string()).default([]),
      suggestions: z.array(z.string()).default([]),
    })
    .default({ missing_steps: [], concerns: [], suggestions: [] }),
  revised_plan: PlanSchema.optional(),
});
export type PlanReview = z.infer<typeof PlanReviewSchema>;

export const CodeReviewSchema = z.object({
  status: z.enum(['approved', 'needs_changes', 'rejected']),
  review: z
    .object({
      correctness: score.optional(),
      code_quality: score.optional(),
      test_coverage: z.string().optional(),
      performance_concerns: z.array(z.string()).default([]),
      security_issues: z.array(z.string()).default([]),
      required_changes: z.array(z.string()).default([]),
      optional_improvements: z.array(z.string()).default([]),
    })
    .default({ performance_concerns: [], security_issues: [], required_changes: [], optional_improvements: [] }),
});
export type CodeReview = z.infer<typeof CodeReviewSchema>;

/**
 * The validator's verdict on the whole branch (seeds 000/001): does the work meet the goal,
 * constraints and success criteria. At most three issues, so a failed validation sends the
 * implementer a short, actionable list.
 */
export const ValidationSchema = z.object({
  pass: z.boolean(),
  issues: z.array(z.string().trim().min(1)).max(3, 'give at most 3 issues').default([]),
  confidence: z.number().min(0).max(1),
  escalate: z.boolean().default(false),
});
export type Validation = z.infer<typeof ValidationSchema>;

/** The validator's last verdict as a task keeps it (results file, `status`, summary): with the model that gave it and its call. */
export const ValidationVerdictSchema = ValidationSchema.extend({ model: z.string(), call: z.number().int().positive() });
export type ValidationVerdict = z.infer<typeof ValidationVerdictSchema>;

/** The verdict on one line: `pass` or `fail`, the confidence, and whether a person was asked. */
export function verdictLine(v: Validation): string {
  return `${v.pass ? 'pass' : 'fail'}, confidence ${v.confidence}${v.escalate ? ', asks for a person' : ''}`;
}

/** What the implementer says about its own edits; the runtime takes the diff from git, not from here. */
export const ImplementationReportSchema = z.object({
  explanation: z.string().default(''),
  confidence: z.number().min(0).max(1).default(0.5),
  breaking_change: z.boolean().default(false),
});
export type ImplementationReport = z.infer<typeof ImplementationReportSchema>;
