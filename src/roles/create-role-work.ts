import type { CommitInput, CommitOutput, PrepareInput, PrepareOutput } from '../model/role-contracts.js';
import type { QualityGate } from '../model/gate-report.js';
import type { RoleWork } from './role-executor.js';
import type { Workspace } from '../workspace/workspace.js';
import { codeReviewerWork } from './code-reviewer.js';
import { implementerWork } from './implementer.js';
import { eventPublisher } from './pipeline/events.js';
import type { PipelineDeps } from './pipeline/types.js';
import { planReviewerWork } from './plan-reviewer.js';
import { plannerWork } from './planner.js';
import { qualityGateWork } from './quality-gate.js';
import { validatorWork } from './validator.js';
import { createRolePipeline } from './role-pipeline.js';
import type { Standards } from './standards.js';

export interface RoleWorkDeps extends PipelineDeps {
  readonly gate: QualityGate;
  readonly workspace: Workspace;
  /** The repository's coding standards, for the implementer, the code reviewer and the validator. */
  readonly standards?: Standards | undefined;
}

/**
 * The role work without the machine: plain async functions of JSON input, so that a role service
 * can run them for a supervisor in another process. Prepare and commit stay with the supervisor.
 */
export function createRoleWork(deps: RoleWorkDeps): RoleWork {
  const call = createRolePipeline(deps);
  const { workspace } = deps;

  const prepare = async (input: PrepareInput): Promise<PrepareOutput> => {
    const ref = await workspace.ensure(input);
    return { worktreePath: ref.path, branch: ref.branch };
  };

  const commit = async (input: CommitInput): Promise<CommitOutput> => {
    if (input.skip) {
      await workspace.reset(input.worktreePath);
      return {};
    }
    const { sha } = await workspace.commit(input.worktreePath, {
      taskId: input.taskId,
      stepId: input.step.id,
      attempt: input.attempt,
      message: `${input.step.id}: ${firstLine(input.step.description)}`,
      trailers: input.trailers,
      baseCommit: input.baseCommit,
    });
    return { sha };
  };

  return {
    prepare,
    plan: plannerWork({ call, workspace }),
    reviewPlan: planReviewerWork({ call }),
    implement: implementerWork({ call, workspace, standards: deps.standards }),
    reviewCode: codeReviewerWork({ call, workspace, standards: deps.standards }),
    validate: validatorWork({ call, workspace, standards: deps.standards }),
    gate: qualityGateWork({ gate: deps.gate, publish: eventPublisher(deps.bus), clock: deps.clock }),
    commit,
  };
}

function firstLine(text: string): string {
  const line = text.split('\n')[0]?.trim() ?? '';
  return line.length > 72 ? `${line.slice(0, 69)}...` : line;
}
