import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { createScriptedRunner } from '../../src/runners/scripted.js';
import type { ScriptInput } from '../../src/runners/scripted-script.js';
import { createMemoryBus } from '../../src/bus/memory-bus.js';
import { createMemoryStore } from '../../src/store/memory-store.js';
import { ConfigSchema } from '../../src/config/schema.js';
import type { GateReport, QualityGate } from '../../src/model/gate-report.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { type TaskOutcome } from '../../src/runtime/task-outcome.js';
import { TaskSpecSchema } from '../../src/model/task-spec.js';
import { bindTracing } from '../../src/telemetry/bind-tracing.js';
import type { Logger } from '../../src/telemetry/logger.js';
import { taskFactsFromStore } from '../../src/telemetry/task-facts.js';
import type { Tracing } from '../../src/telemetry/tracing.js';
import { fakeWorkspace } from '../helpers/fake-ports.js';

export const config = ConfigSchema.parse({
  runner_override: 'scripted',
  roles: {
    planner: { provider: 'anthropic', model: 'claude-sonnet-4-5', runner: 'claude-code' },
    'plan-reviewer': { provider: 'google', model: 'gemini-2.5-pro', runner: 'gemini-cli' },
    implementer: { provider: 'google', model: 'gemini-2.5-flash', runner: 'gemini-cli' },
    'code-reviewer': { provider: 'anthropic', model: 'claude-sonnet-4-5', runner: 'claude-code' },
  },
  limits: { retry_base_delay_ms: 0 },
});

export const plan = {
  task_id: 'RAE-001',
  steps: [
    { id: 'S1', type: 'implementation', description: 'the change', risk: 'high', estimated_complexity: 'medium' },
    { id: 'S2', type: 'docs', description: 'the docs', risk: 'low', estimated_complexity: 'trivial' },
  ],
};

export const script: ScriptInput = {
  tasks: {
    'RAE-001': {
      planner: [{ respond: plan }],
      'plan-reviewer': [{ respond: { status: 'needs_revision', review: { concerns: ['say how S1 is tested'] } } }, { respond: { status: 'approved' } }],
      steps: {
        S1: {
          implementer: [{ respond: { explanation: 'first try', confidence: 0.6 } }, { respond: { explanation: 'fixed', confidence: 0.9 } }],
          'code-reviewer': [{ respond: { status: 'approved' } }],
        },
        S2: { implementer: [{ respond: { explanation: 'docs', confidence: 0.9 } }], 'code-reviewer': [{ respond: { status: 'approved' } }] },
      },
    },
  },
};

/** The SDK's in-memory exporter forgets its spans on shutdown; the root span only ends there. */
export class KeepingExporter extends InMemorySpanExporter {
  override shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** Fails S1's first run (a failing test), passes everything after. */
export function flakyGate(): QualityGate {
  let runs = 0;
  return {
    run: ({ stepId }) => {
      runs++;
      const failed = stepId === 'S1' && runs === 1;
      const report: GateReport = {
        passed: !failed,
        duration_ms: 5,
        summary: failed ? '1 of 1 checks failed: tests' : '1/1 checks passed',
        checks: [
          {
            name: 'tests',
            kind: 'tests',
            command: 'npm test',
            passed: !failed,
            exit_code: failed ? 1 : 0,
            timed_out: false,
            duration_ms: 5,
            excerpt: failed ? 'not ok 1 - slugify' : '',
            metrics: {},
          },
        ],
      };
      return Promise.resolve(report);
    },
  };
}

/**
 * One scripted task (RAE-001: high risk, core) through a real runtime over the in-memory bus and
 * store, the fake workspace and `gate`, with `tracing` bound to its events.
 */
export async function runTraced(
  tracing: Tracing,
  options: { taskExtra?: Record<string, unknown>; gate?: QualityGate; script?: ScriptInput; logger?: Logger } = {},
): Promise<TaskOutcome> {
  const bus = createMemoryBus();
  const store = createMemoryStore();
  const binding = bindTracing(bus, tracing, { facts: taskFactsFromStore(store) });
  const runtime = createRuntime({
    config,
    runners: new Map([['scripted', createScriptedRunner({ script: options.script ?? script })]]),
    store,
    bus,
    gate: options.gate ?? flakyGate(),
    workspace: fakeWorkspace(),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const spec = TaskSpecSchema.parse({ id: 'RAE-001', goal: 'hybrid search', risk: 'high', area: 'core', ...options.taskExtra });
  const outcome = await (await runtime.submit({ spec, repo: '/repo', base: 'main', baseCommit: 'abc' })).outcome;
  await runtime.idle();
  await runtime.close();
  binding.close();
  await bus.close();
  return outcome;
}
