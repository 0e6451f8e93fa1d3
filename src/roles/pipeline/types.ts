import type { z } from 'zod';
import type { ParseResult } from '../parse-output.js';
import type { AgentRunner } from '../../runners/agent-runner.js';
import type { ExecutionResult, Role } from '../../model/execution.js';
import type { PlanStep } from '../../model/role-outputs.js';
import type { Bus } from '../../bus/bus.js';
import type { Clock } from '../../platform/clock.js';
import type { Limits } from '../../model/limits.js';
import type { RoleResult } from '../../model/role-contracts.js';
import type { LedgerEntry } from '../../routing/cost-ledger.js';
import type { Routing } from '../../routing/routing.js';
import type { TaskSpec } from '../../model/task-spec.js';
import type { Logger } from '../../telemetry/logger.js';

/** The roles a model plays through the pipeline (the mediator talks to its local model directly). */
type PipelineRole = Exclude<Role, 'mediator'>;

export type RoleFailure = Extract<RoleResult<never>, { ok: false }>;

/** One role call as a role asks for it: what to send, how to read the answer, what to route by. */
export interface RoleCallRequest<T> {
  readonly role: PipelineRole;
  readonly taskId: string;
  readonly stepId?: string | undefined;
  readonly attempt: number;
  readonly prompt: string;
  readonly cwd: string;
  /** The answer's schema, for runners that can enforce one. */
  readonly schema?: z.ZodType | undefined;
  readonly parse: (text: string) => ParseResult<T>;
  readonly signal: AbortSignal;
  readonly task: TaskSpec;
  readonly step?: PlanStep | undefined;
  /** The model whose work a reviewer reviews (the diversity rule keeps it away). */
  readonly authorModel?: string | undefined;
  readonly budgetGrantUsd?: number | undefined;
}

export interface PipelineDeps {
  readonly runners: ReadonlyMap<string, AgentRunner>;
  /** Picks each call's model, records its cost, limits and watches each model (src/routing). */
  readonly routing: Routing;
  readonly limits: Limits;
  readonly clock: Clock;
  readonly bus: Bus;
  /** Every runner call, after the ledger recorded it. */
  readonly onCall?: (call: { taskId: string; stepId?: string | undefined; result: ExecutionResult; entry: LedgerEntry }) => void;
  readonly random?: () => number;
  readonly logger?: Logger;
}
