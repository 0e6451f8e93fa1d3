import { z } from 'zod';
import { CheckKindSchema } from '../model/gate-report.js';
import { API_PARSERS, ChangeSizeSchema, COVERAGE_PARSERS, CoverageParserNameSchema, ParserNameSchema, TEST_PARSERS } from '../model/parser-names.js';

/*
 * The gate's own options: the `gate` section of tandem.config.yaml and the whole of a repository's
 * `.tandem/quality.yaml`. The gate owns them; src/config/schema.ts only composes them.
 */

export const GateCheckConfigSchema = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'must be letters, digits, ".", "-" or "_"'),
    kind: CheckKindSchema.default('custom'),
    /** Run through the shell, in the task's worktree; `$TANDEM_GATE_OUT` is a fresh folder for reports. */
    command: z.string().min(1),
    timeout_ms: z.number().int().positive().default(300_000),
    /** How to read the output. Without a parser only the exit code counts. */
    parser: ParserNameSchema.optional(),
    /** The file the parser reads instead of stdout (a folder for `declarations`), relative to the worktree or under `$TANDEM_GATE_OUT`. */
    report: z.string().min(1).optional(),
    /** A coverage report the same command writes (e.g. `vitest --coverage`), compared with the base's. */
    coverage: z.strictObject({ parser: CoverageParserNameSchema, report: z.string().min(1) }).optional(),
    /** `declarations` only: the .d.ts files (relative to `report`) that make the public API. Default: index.d.ts, else every file. */
    entries: z.array(z.string().min(1)).min(1).optional(),
    /** The change sizes this check runs on. Default: all. */
    runs_on: z.array(ChangeSizeSchema).min(1).optional(),
    /** Runs one failing test alone to tell a flaky test from a broken one; `{file}`, `{name}` and `{pattern}` are filled in, shell-quoted. */
    rerun: z.string().min(1).optional(),
  })
  .superRefine((check, ctx) => {
    const problem = (path: string, message: string): void => void ctx.addIssue({ code: 'custom', path: [path], message });
    if (check.parser === 'declarations' && check.report === undefined)
      problem('report', 'the declarations parser reads a folder: set `report` to the --outDir that tsc writes the .d.ts files to');
    if (check.kind === 'api' && !isOneOf(check.parser, API_PARSERS)) problem('parser', `an api check needs an api parser (${API_PARSERS.join(', ')})`);
    if (check.kind === 'coverage' && check.coverage === undefined && !isOneOf(check.parser, COVERAGE_PARSERS)) {
      problem('parser', `a coverage check needs a coverage parser (${COVERAGE_PARSERS.join(', ')}) or a \`coverage\` report`);
    }
    if (check.entries !== undefined && check.parser !== 'declarations') problem('entries', 'entries only apply to `parser: declarations`');
    if (check.rerun !== undefined && !isOneOf(check.parser, TEST_PARSERS))
      problem('rerun', `only a check with a test parser (${TEST_PARSERS.join(', ')}) can re-run a failing test`);
  });
export type GateCheckConfig = z.infer<typeof GateCheckConfigSchema>;

function isOneOf(value: string | undefined, list: readonly string[]): boolean {
  return value !== undefined && list.includes(value);
}

const ChangeSizeLimitSchema = z.strictObject({
  /** Lines added plus lines deleted, against the base. */
  max_lines: z.number().int().nonnegative(),
  max_files: z.number().int().positive(),
});

/**
 * The largest change of each class; anything bigger than `medium` is LARGE. `trivial` is kept so
 * existing files load, but no longer used: TRIVIAL means no executable code changed, at any size.
 */
export const ChangeSizeLimitsSchema = z.strictObject({
  trivial: ChangeSizeLimitSchema.default({ max_lines: 5, max_files: 1 }),
  small: ChangeSizeLimitSchema.default({ max_lines: 50, max_files: 3 }),
  medium: ChangeSizeLimitSchema.default({ max_lines: 300, max_files: 10 }),
});
export type ChangeSizeLimits = z.infer<typeof ChangeSizeLimitsSchema>;

const FlakyPolicySchema = z.enum(['fail', 'warn']);
export type FlakyPolicy = z.infer<typeof FlakyPolicySchema>;

/** The gate section of tandem.config.yaml, and the whole of a repository's `.tandem/quality.yaml`. */
export const GateConfigSchema = z.strictObject({
  /** When empty, the gate runs `npm test` if the repository's package.json has a test script. */
  checks: z
    .array(GateCheckConfigSchema)
    .default([])
    .superRefine((checks, ctx) => {
      const seen = new Set<string>();
      checks.forEach((check, index) => {
        if (seen.has(check.name))
          ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `another check is already named "${check.name}"; names must be unique` });
        seen.add(check.name);
      });
    }),
  excerpt_lines: z.number().int().positive().default(60),
  /** Percentage points line coverage may drop before the gate fails. */
  coverage_tolerance: z.number().min(0).max(100).default(0),
  /** Line coverage (percent) every step must reach, whatever the base had; a task's `coverage_min` overrides it. */
  min_line_coverage: z.number().min(0).max(100).optional(),
  /** A test that failed and passed when re-run alone: still fail the step, or pass it with a warning. */
  flaky_tests: FlakyPolicySchema.default('fail'),
  /** Failing tests of a check are re-run alone when at most this many failed (more is a broken change, not flakiness). */
  flaky_reruns: z.number().int().min(0).max(20).default(3),
  change_size: ChangeSizeLimitsSchema.default(ChangeSizeLimitsSchema.parse({})),
  /**
   * Installed dependencies (untracked folders of the repository's main checkout) linked into each
   * task worktree that lacks them, and from there into the base's worktree.
   */
  baseline_links: z.array(z.string().min(1)).default(['node_modules', '.venv', 'venv', 'vendor']),
  /** Variables checks see besides the safe defaults (PATH, HOME, locale, proxies, toolchains); model keys and credentials only if named here. */
  env_allow: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')).default([]),
});
export type GateConfig = z.infer<typeof GateConfigSchema>;
