import type { ResumableState, Stage } from './supervisor-context.js';
import type { RoleResult } from '../model/role-contracts.js';
import type { RoleFailureParams } from './supervisor-actions.js';

/**
 * Transitions the chart repeats, written once. Targets are absolute (`#supervisor…`) so a builder
 * works from any depth of the chart.
 */

export const AWAITING = '#supervisor.AWAITING_HUMAN_REVIEW';
const PAUSED = '#supervisor.running.PAUSED';
export const FAILED = '#supervisor.FAILED';
/** The deep history of `work`: where a pause or a raised budget continues. */
export const RESUME = '#supervisor.running.work.resume';

type OutputArgs = { readonly event: { readonly output: RoleResult<unknown> } };
type ErrorArgs = { readonly event: { readonly error: unknown } };

/** The named action that records a failed call and makes it again (it spends an attempt). */
type RetryAction = 'retryPlanning' | 'retryPlanReview' | 'retryImplementing' | 'retryCodeReview' | 'retryValidation';

export interface RoleCall<TAnswers extends readonly unknown[]> {
  /** Public name of the calling state: recorded with a pause or a budget stop, for people. */
  readonly state: ResumableState;
  /** Absolute id of the calling state, re-entered (a new invocation) to retry. */
  readonly self: string;
  readonly stage: Stage;
  readonly role: RoleFailureParams['role'];
  readonly retry: RetryAction;
  /** What the role's answers lead to (the role's own transitions, tried first). */
  readonly answers: TAnswers;
}

/**
 * The `onDone` candidates of a role call, in the order DESIGN §3 asks: the role's answers; then
 * the stops that are not the model's fault and spend no attempt (a budget that would be exceeded
 * waits for a person who may raise it, a rate limit parks the task until its reset, or asks a person
 * when the reset is too far); then a retry while attempts are left; then a person.
 */
export function roleCallOutcomes<const TAnswers extends readonly unknown[]>(call: RoleCall<TAnswers>) {
  const stop = ({ event }: OutputArgs) => ({ output: event.output, state: call.state });
  const output = ({ event }: OutputArgs) => ({ output: event.output });
  const failure = ({ event }: OutputArgs) => ({ output: event.output, role: call.role });
  return [
    ...call.answers,
    { guard: { type: 'budgetStopped', params: stop }, target: AWAITING, actions: { type: 'escalateBudget', params: stop } },
    { guard: { type: 'pausable', params: stop }, target: PAUSED, actions: { type: 'pause', params: stop } },
    { guard: { type: 'rateLimited', params: stop }, target: AWAITING, actions: { type: 'escalateRateLimit', params: stop } },
    { guard: { type: 'attemptsLeft', params: { stage: call.stage } }, target: call.self, reenter: true, actions: { type: call.retry, params: output } },
    { target: AWAITING, actions: { type: 'escalateRoleFailure', params: failure } },
  ] as const;
}

/** Every effect that throws (a bug, not a model's answer) asks a person, at the stage the task is in. */
export const internalErrorTransition = {
  target: AWAITING,
  actions: { type: 'escalateInternalError', params: ({ event }: ErrorArgs) => ({ error: event.error }) },
} as const;

/** The params of an answer's guard or action: the role call's result. */
export function answer<T>({ event }: { readonly event: { readonly output: T } }): { readonly output: T } {
  return { output: event.output };
}
