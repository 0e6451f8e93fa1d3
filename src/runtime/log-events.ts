import type { TaskEvent } from '../model/task-events.js';
import type { Logger } from '../telemetry/logger.js';

/** One log line per lifecycle event, at the level a person watching the log needs. */
export function logEvent(logger: Logger, event: TaskEvent): void {
  const base = { task: event.taskId, ...('stepId' in event && event.stepId ? { step: event.stepId } : {}) };
  switch (event.type) {
    case 'task.state':
      logger.info({ ...base, state: event.state, previous: event.previous, attempt: event.attempt, reason: event.reason }, `task ${event.state}`);
      return;
    case 'role.started':
      logger.info(
        { ...base, role: event.role, model: event.model, provider: event.provider, runner: event.runner, attempt: event.attempt },
        `${event.role} started`,
      );
      return;
    case 'role.finished': {
      const fields = {
        ...base,
        role: event.role,
        model: event.model,
        runner: event.runner,
        attempt: event.attempt,
        tries: event.tries,
        verdict: event.verdict,
        error_kind: event.error_kind,
        tokens_input: event.tokens_input,
        tokens_output: event.tokens_output,
        cost_usd: event.cost_usd,
        latency_ms: event.latency_ms,
      };
      if (event.success) logger.info(fields, `${event.role} answered`);
      else logger.warn({ ...fields, error: event.error }, `${event.role} failed`);
      return;
    }
    case 'gate.check':
      logger.debug(
        { ...base, check: event.check, base: event.base, phase: event.phase, passed: event.passed, duration_ms: event.duration_ms },
        `gate check ${event.check}${event.base ? ' on the base' : ''} ${event.phase}`,
      );
      return;
    case 'gate.finished':
      logger.info(
        { ...base, passed: event.passed, summary: event.summary, duration_ms: event.duration_ms },
        `quality gate ${event.passed ? 'passed' : 'failed'}`,
      );
      return;
    case 'step.committed':
      logger.info({ ...base, sha: event.sha, branch: event.branch }, 'step committed');
      return;
    case 'task.finished':
      logger.info(
        { ...base, state: event.state, branch: event.branch, cost_usd: event.cost_usd, duration_ms: event.duration_ms },
        `task finished ${event.state}`,
      );
      return;
  }
}
