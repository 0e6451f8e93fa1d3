import { z } from 'zod';

/**
 * What every parser turns a tool's output into. Paths are relative to the worktree root with `/`
 * separators, so that the same finding in the base worktree and in the task's worktree compare equal.
 */
const TestStatusSchema = z.enum(['passed', 'failed', 'skipped']);
export type TestStatus = z.infer<typeof TestStatusSchema>;

/** How to run one test alone again: values for the `{file}`, `{name}` and `{pattern}` placeholders of `rerun`. */
const RerunTargetSchema = z.object({
  file: z.string(),
  name: z.string(),
  pattern: z.string(),
});

const TestCaseSchema = z.object({
  /** As a person reads it, e.g. `math › adds` or `tests/test_calc.py::test_half`. */
  name: z.string(),
  file: z.string().optional(),
  status: TestStatusSchema,
  /** The failure message, stack frames of the test runner itself removed. */
  message: z.string().optional(),
  rerun: RerunTargetSchema.optional(),
});
export type TestCase = z.infer<typeof TestCaseSchema>;

const WarningSeveritySchema = z.enum(['error', 'warning', 'info']);
export type WarningSeverity = z.infer<typeof WarningSeveritySchema>;

const WarningSchema = z.object({
  rule: z.string(),
  /** Empty for findings about no file (e.g. a tsconfig-wide error). */
  file: z.string(),
  line: z.number().int().nonnegative(),
  column: z.number().int().nonnegative().optional(),
  message: z.string(),
  severity: WarningSeveritySchema,
});
export type Warning = z.infer<typeof WarningSchema>;

const CoverageTotalsSchema = z.object({
  covered: z.number().nonnegative(),
  total: z.number().nonnegative(),
  /** 0–100, rounded to two decimals; 100 when there is nothing to cover. */
  pct: z.number().min(0).max(100),
});

const FileCoverageSchema = z.object({
  lines: CoverageTotalsSchema,
  /** Line numbers never executed, when the format says which. */
  uncovered: z.array(z.number().int().positive()).optional(),
});
export type FileCoverage = z.infer<typeof FileCoverageSchema>;

const CoverageSchema = z.object({
  lines: CoverageTotalsSchema,
  files: z.record(z.string(), FileCoverageSchema),
});
export type Coverage = z.infer<typeof CoverageSchema>;

const ApiExportSchema = z.object({
  /** The declaration file the name is reachable from, relative to the declaration folder. */
  entry: z.string(),
  name: z.string(),
  kind: z.string(),
  /** The declaration text, whitespace collapsed: tells a changed signature from an unchanged one. */
  signature: z.string(),
});
export type ApiExport = z.infer<typeof ApiExportSchema>;

export const ParsedOutputSchema = z.object({
  tests: z.array(TestCaseSchema).optional(),
  warnings: z.array(WarningSchema).optional(),
  coverage: CoverageSchema.optional(),
  exports: z.array(ApiExportSchema).optional(),
});
export type ParsedOutput = z.infer<typeof ParsedOutputSchema>;

interface ParserInput {
  /** The report file's text, or the check's stdout when it has no report file. */
  readonly text: string;
  /** The check's stderr, for tools that print part of a failure there (go's build errors). */
  readonly stderr: string;
  /** Absolute path of the worktree the check ran in. */
  readonly root: string;
}

export type ParseResult = { readonly ok: true; readonly output: ParsedOutput } | { readonly ok: false; readonly reason: string };

export type OutputParser = (input: ParserInput) => ParseResult;

export function parsed(output: ParsedOutput): ParseResult {
  return { ok: true, output };
}

export function unreadable(reason: string): ParseResult {
  return { ok: false, reason };
}
