/**
 * The one table of span and attribute names (DESIGN §10, seed 002 "Telemetry"), next to the OTel
 * GenAI semantic-convention names. Those are still "incubating" upstream, and the semconv package
 * asks users to copy such names rather than import them, so they are spelled out here.
 */
export const SpanName = {
  orchestratorRun: 'orchestrator.run',
  taskRun: 'task.run',
  taskPlan: 'task.plan',
  taskReviewPlan: 'task.review_plan',
  /** The validator's check of the whole branch after the last step. */
  taskValidate: 'task.validate',
  stepRun: 'step.run',
  llmCall: 'llm.call',
  qualityGateRun: 'quality_gate.run',
} as const;

export const Attr = {
  taskId: 'task.id',
  taskRisk: 'task.risk',
  taskArea: 'task.area',
  taskType: 'task.type',
  taskPriority: 'task.priority',
  /** Seed 002: the task's size, the largest estimated complexity of its plan's steps. */
  taskComplexity: 'task.complexity',
  taskResumed: 'task.resumed',
  taskCostUsd: 'task.cost_usd',
  taskCommits: 'task.commits',
  taskBranch: 'task.branch',
  taskReason: 'task.reason',
  stepId: 'step.id',
  stepIndex: 'step.index',
  stepType: 'step.type',
  stepRisk: 'step.risk',
  stepComplexity: 'step.complexity',
  stepCommit: 'step.commit',
  llmProvider: 'llm.provider',
  llmModelName: 'llm.model_name',
  llmRole: 'llm.role',
  llmRunner: 'llm.runner',
  llmPromptTokens: 'llm.prompt_tokens',
  llmCompletionTokens: 'llm.completion_tokens',
  llmTokensEstimated: 'llm.tokens_estimated',
  llmCostUsd: 'llm.cost_usd',
  llmLatencyMs: 'llm.latency_ms',
  llmTries: 'llm.tries',
  llmVerdict: 'llm.verdict',
  /** The validator's checklist, on its call and on task.validate. */
  validationPass: 'validation.pass',
  validationConfidence: 'validation.confidence',
  validationEscalate: 'validation.escalate',
  validationIssues: 'validation.issues',
  routingSource: 'routing.source',
  routingReason: 'routing.reason',
  routingRisk: 'routing.task_risk',
  routingComplexity: 'routing.complexity',
  routingEstimateUsd: 'routing.estimate_usd',
  resultStatus: 'result.status',
  resultAttempt: 'result.attempt',
  gateSummary: 'quality_gate.summary',
  gateChecks: 'quality_gate.checks',
  gateChecksFailed: 'quality_gate.checks_failed',
  genAiOperationName: 'gen_ai.operation.name',
  genAiSystem: 'gen_ai.system',
  genAiProviderName: 'gen_ai.provider.name',
  genAiRequestModel: 'gen_ai.request.model',
  genAiResponseModel: 'gen_ai.response.model',
  genAiAgentName: 'gen_ai.agent.name',
  genAiUsageInputTokens: 'gen_ai.usage.input_tokens',
  genAiUsageOutputTokens: 'gen_ai.usage.output_tokens',
  errorType: 'error.type',
} as const;

/** Seed 002's `result.status` values, plus the outcomes a run can also end in. */
export const ResultStatus = {
  success: 'success',
  fail: 'fail',
  retry: 'retry',
  humanRequired: 'human_required',
  aborted: 'aborted',
  skipped: 'skipped',
  interrupted: 'interrupted',
} as const;
export type ResultStatus = (typeof ResultStatus)[keyof typeof ResultStatus];

/** Well-known `gen_ai.provider.name` values for the providers tandem's config names. */
const genAiProviders: Readonly<Record<string, string>> = {
  anthropic: 'anthropic',
  openai: 'openai',
  google: 'gcp.gemini',
  gemini: 'gcp.gemini',
  ollama: 'ollama',
};

export function genAiProvider(provider: string): string {
  return genAiProviders[provider] ?? provider;
}

/**
 * The coding CLIs run an agent loop per call (`invoke_agent`); Ollama answers one chat request.
 */
export function genAiOperation(runner: string): 'invoke_agent' | 'chat' {
  return runner === 'ollama' ? 'chat' : 'invoke_agent';
}
