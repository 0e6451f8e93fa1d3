import { fromPromise } from 'xstate';
import type { ModelRef } from '../../src/model/execution.js';
import type { CodeReview, Plan, PlanReview, Validation } from '../../src/model/role-outputs.js';
import type { GateReport } from '../../src/model/gate-report.js';
import type {
  CodeReviewInput,
  CommitInput,
  CommitOutput,
  GateInput,
  Implementation,
  ImplementInput,
  PlanInput,
  PlanReviewInput,
  PrepareInput,
  PrepareOutput,
  RoleResult,
  ValidateInput,
  WaitInput,
} from '../../src/model/role-contracts.js';
import type { SupervisorInput } from '../../src/machines/supervisor-context.js';
import { TaskSpecSchema } from '../../src/model/task-spec.js';

/** Outputs of the supervisor's actors, for machine tests that replace the actors with fakes. */

export const authorModel: ModelRef = { provider: 'anthropic', model: 'author', runner: 'scripted' };
const reviewerModel: ModelRef = { provider: 'google', model: 'reviewer', runner: 'scripted' };

export const twoStepPlan: Plan = {
  task_id: 'T1',
  plan_version: 1,
  dependencies: [],
  steps: ['S1', 'S2'].map((id) => ({
    id,
    type: 'implementation' as const,
    description: `do ${id}`,
    risk: 'low' as const,
    estimated_complexity: 'small' as const,
    files_to_read: [],
    files_to_create: [],
    files_to_modify: [],
    tests_required: false,
    commands: [],
  })),
};

export function ok<T>(value: T, model: ModelRef = authorModel): RoleResult<T> {
  return { ok: true, value, model, costUsd: 0.01 };
}

export function failed(kind: 'crashed' | 'bad_output' | 'timeout' | 'no_progress' = 'crashed', model: ModelRef = authorModel): RoleResult<never> {
  return { ok: false, kind, error: `${kind} on purpose`, model, costUsd: 0.001 };
}

export function rateLimited(retryAfterMs: number, retryAt: number, model: ModelRef = authorModel): RoleResult<never> {
  return { ok: false, kind: 'rate_limit', error: 'slow down', retryAfterMs, retryAt, model, costUsd: 0 };
}

export function planReview(status: PlanReview['status']): RoleResult<PlanReview> {
  return ok({ status, review: { missing_steps: status === 'approved' ? [] : ['add tests'], concerns: [], suggestions: [] } }, reviewerModel);
}

export function codeReview(status: CodeReview['status']): RoleResult<CodeReview> {
  return ok(
    {
      status,
      review: {
        performance_concerns: [],
        security_issues: [],
        required_changes: status === 'approved' ? [] : ['handle empty input'],
        optional_improvements: [],
      },
    },
    reviewerModel,
  );
}

/** A validator's verdict, from a model of another provider than the implementer's. */
export function validation(verdict: Partial<Validation> = {}): RoleResult<Validation> {
  return ok({ pass: true, issues: [], confidence: 0.9, escalate: false, ...verdict }, { provider: 'openai', model: 'validator', runner: 'scripted' });
}

export function implementation(fingerprint: string): RoleResult<Implementation> {
  return ok({
    report: { explanation: 'changed it', confidence: 0.8, breaking_change: false },
    diff: { fingerprint, files: ['a.js'], insertions: 1, deletions: 0, patch: `+${fingerprint}` },
  });
}

/** A report step's answer: findings and no diff. */
export function findingsAnswer(): RoleResult<Implementation> {
  return ok({
    report: { explanation: 'two findings', confidence: 0.5, breaking_change: false },
    diff: { fingerprint: '', files: [], insertions: 0, deletions: 0, patch: '' },
    findings: {
      summary: 'two findings',
      findings: [{ description: 'no test for empty input', file: 'a.js', line: 3, severity: 'medium' }],
      recommendations: ['add the test'],
    },
  });
}

export function gateReport(passed: boolean, excerpt = 'boom'): GateReport {
  return {
    passed,
    duration_ms: 5,
    summary: passed ? '1/1 checks passed' : '1 of 1 checks failed: test',
    checks: [
      {
        name: 'test',
        kind: 'tests',
        command: 'npm test',
        passed,
        exit_code: passed ? 0 : 1,
        timed_out: false,
        duration_ms: 5,
        excerpt: passed ? '' : excerpt,
        metrics: {},
      },
    ],
  };
}

/** A gate that could not run a check (a missing tool): a person must fix the machine, no attempt is spent. */
export function environmentGateReport(): GateReport {
  const report = gateReport(false, 'sh: 1: pytest: not found');
  return {
    ...report,
    verdict: 'environment',
    checks: report.checks.map((c) => ({ ...c, environment: { error: 'sh: 1: pytest: not found', fix: 'install `pytest` or put it on PATH for tandem' } })),
  };
}

export function supervisorInput(overrides: Partial<SupervisorInput['limits']> = {}): SupervisorInput {
  return {
    task: TaskSpecSchema.parse({ id: 'T1', goal: 'make it better' }),
    repo: '/repo',
    baseCommit: 'abc123',
    startedAt: 0,
    limits: { maxAttempts: 3, maxPlanRounds: 3, maxPauseMs: 3_600_000, ...overrides },
  };
}

interface Pending {
  readonly name: string;
  readonly input: unknown;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/**
 * Fake actors whose promises the test settles by hand: the test sees which actor the machine
 * invoked, with which input, and decides its outcome.
 */
export function controllableActors() {
  const pending: Pending[] = [];
  const make = <TOutput, TInput>(name: string) =>
    fromPromise<TOutput, TInput>(
      ({ input, signal }) =>
        new Promise<TOutput>((resolve, reject) => {
          const call: Pending = { name, input, resolve: (value) => resolve(value as TOutput), reject };
          pending.push(call);
          // A stopped actor (the machine left its state) is no longer open.
          signal.addEventListener('abort', () => pending.splice(pending.indexOf(call) >>> 0, pending.includes(call) ? 1 : 0), { once: true });
        }),
    );
  const actors = {
    prepare: make<PrepareOutput, PrepareInput>('prepare'),
    plan: make<RoleResult<Plan>, PlanInput>('plan'),
    reviewPlan: make<RoleResult<PlanReview>, PlanReviewInput>('reviewPlan'),
    implement: make<RoleResult<Implementation>, ImplementInput>('implement'),
    reviewCode: make<RoleResult<CodeReview>, CodeReviewInput>('reviewCode'),
    validate: make<RoleResult<Validation>, ValidateInput>('validate'),
    gate: make<GateReport, GateInput>('gate'),
    commit: make<CommitOutput, CommitInput>('commit'),
    wait: make<void, WaitInput>('wait'),
  };
  return {
    actors,
    pending,
    /** Settles the one open call of `name` and lets the machine process the result. */
    async settle(name: string, outcome: { output: unknown } | { error: unknown }): Promise<unknown> {
      const index = pending.findIndex((p) => p.name === name);
      if (index < 0) throw new Error(`no open call of ${name}; open: ${pending.map((p) => p.name).join(', ') || 'none'}`);
      const [call] = pending.splice(index, 1);
      if (!call) throw new Error('unreachable');
      if ('output' in outcome) call.resolve(outcome.output);
      else call.reject(outcome.error);
      await new Promise<void>((resolve) => setImmediate(resolve));
      return call.input;
    },
    open(): string[] {
      return pending.map((p) => p.name);
    },
  };
}
