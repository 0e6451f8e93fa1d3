import { z } from 'zod';
import type { Role } from './execution.js';
import { RoleWorkSchemas } from './role-contracts.js';

/**
 * The role-work channel of distributed mode: a supervisor asks a role service for one piece of work
 * (`tandem.v1.role.<role>.run`, through a JetStream work queue) and is told on
 * `tandem.v1.results.<task>` once the service stored the result under the call's key.
 *
 * The inputs are role-contracts.ts's: they come off the network, so each is checked before a
 * service spends a model call on it, and each stored result is checked before a supervisor uses it.
 */

/** Each work's input, from the one definition in role-contracts.ts. */
const RoleWorkInputSchemas = {
  plan: RoleWorkSchemas.plan.input,
  reviewPlan: RoleWorkSchemas.reviewPlan.input,
  implement: RoleWorkSchemas.implement.input,
  reviewCode: RoleWorkSchemas.reviewCode.input,
  validate: RoleWorkSchemas.validate.input,
  gate: RoleWorkSchemas.gate.input,
} as const;

const runBase = {
  taskId: z.string().min(1),
  /** Idempotency key: task, invocation and work (roleCallKey). */
  key: z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'must be dot-separated tokens'),
  at: z.number(),
};

/** Channel `tandem.v1.role.<role>.run`: one union keyed on `type`, the work's input checked by `work`. */
export const RoleRunMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('role.plan'), ...runBase, input: RoleWorkInputSchemas.plan }),
  z.object({ type: z.literal('role.reviewPlan'), ...runBase, input: RoleWorkInputSchemas.reviewPlan }),
  z.object({ type: z.literal('role.implement'), ...runBase, input: RoleWorkInputSchemas.implement }),
  z.object({ type: z.literal('role.reviewCode'), ...runBase, input: RoleWorkInputSchemas.reviewCode }),
  z.object({ type: z.literal('role.validate'), ...runBase, input: RoleWorkInputSchemas.validate }),
  z.object({ type: z.literal('role.gate'), ...runBase, input: RoleWorkInputSchemas.gate }),
]);
export type RoleRunMessage = z.infer<typeof RoleRunMessageSchema>;

/** Channel `tandem.v1.results.<task>`: a result's nudge (the result itself is in the store under `key`), or a cancel. */
export const RoleResultMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('role.result'), taskId: z.string().min(1), key: runBase.key, at: z.number() }),
  /** The task was aborted: services stop its calls in flight (their processes killed), so nothing more is spent on it. */
  z.object({ type: z.literal('role.cancel'), taskId: z.string().min(1), at: z.number(), reason: z.string().optional() }),
]);
export type RoleResultMessage = z.infer<typeof RoleResultMessageSchema>;

/**
 * What a role service stores under `results.<key>` before it acknowledges the work: the work's
 * output, or why it threw (a role's own failures are values inside `output`).
 */
export const StoredRoleResultSchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), output: z.unknown(), service: z.string(), at: z.number() }),
  z.object({ ok: z.literal(false), error: z.string(), retryable: z.boolean(), service: z.string(), at: z.number() }),
]);
export type StoredRoleResult = z.infer<typeof StoredRoleResultSchema>;

export function resultKey(callKey: string): string {
  return `results.${callKey}`;
}

/** Each piece of work that a role service can take, and the service (DESIGN §1) that takes it. */
export const RoleWorkServices = {
  plan: 'planner',
  reviewPlan: 'plan-reviewer',
  implement: 'implementer',
  reviewCode: 'code-reviewer',
  // The validator reads a diff and judges it, as the code reviewer does, with the same credentials:
  // the code reviewers' service takes its calls, so no deployment needs one more service.
  validate: 'code-reviewer',
  gate: 'quality-gate',
} as const satisfies Record<string, Exclude<Role, 'mediator'> | 'quality-gate'>;
export type RoleWorkName = keyof typeof RoleWorkServices;
export type RoleServiceName = (typeof RoleWorkServices)[RoleWorkName];
export const roleServiceNames: readonly RoleServiceName[] = [...new Set(Object.values(RoleWorkServices))];

/** The idempotency key of one role call: task, invocation (which covers step and attempt) and work. */
export function roleCallKey(taskId: string, invocation: number, work: RoleWorkName): string {
  return `${taskId}.${invocation}.${work}`;
}
