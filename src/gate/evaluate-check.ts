import { mkdtemp, readdir, readFile, realpath, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import type { GateCheckConfig } from '../gate/gate-options.js';
import { errorMessage } from '../platform/errors.js';
import { parseDeclarations } from './parsers/declarations.js';
import type { ParsedOutput, TestCase } from './parsers/parsed-output.js';
import { TEXT_PARSERS } from './parsers/registry.js';
import { runCheck, type CheckRun } from './run-check.js';

/** The folder every check may write its reports to, fresh for each run and removed after it. */
const GATE_OUT_VARIABLE = 'TANDEM_GATE_OUT';

export interface CheckEvaluation {
  readonly check: GateCheckConfig;
  readonly run: CheckRun;
  /** What the parsers read; undefined when the check has no parser or its output could not be read. */
  readonly output?: ParsedOutput | undefined;
  /** Why the configured parser could not read the output. */
  readonly unreadable?: string | undefined;
}

export interface EvaluateOptions {
  readonly cwd: string;
  readonly signal: AbortSignal;
  readonly onSpawn?: ((pid: number) => void) | undefined;
  readonly envAllow?: readonly string[] | undefined;
}

/**
 * Runs one check and reads its output with its parsers. Reports go to a fresh `$TANDEM_GATE_OUT`
 * outside the worktree, so they are never committed with the step and never left over from an
 * earlier run; a report path inside the worktree is read only if this run wrote it.
 */
export async function evaluateCheck(check: GateCheckConfig, options: EvaluateOptions): Promise<CheckEvaluation> {
  const outDir = await realpath(await mkdtemp(join(tmpdir(), 'tandem-gate-out-')));
  try {
    const started = Date.now();
    const run = await runCheck(check, {
      cwd: options.cwd,
      signal: options.signal,
      env: { [GATE_OUT_VARIABLE]: outDir },
      onSpawn: options.onSpawn,
      envAllow: options.envAllow,
    });
    if (run.timedOut || run.cancelled || (check.parser === undefined && check.coverage === undefined)) return { check, run };
    const reportPath = (path: string): string => resolve(options.cwd, path.replace(/\$\{?TANDEM_GATE_OUT\}?/g, outDir));
    let output: ParsedOutput = {};
    if (check.parser !== undefined) {
      const result =
        check.parser === 'declarations'
          ? await readDeclarations(reportPath(check.report ?? ''), check.entries, started)
          : await readAndParse(check.parser, check.report === undefined ? undefined : reportPath(check.report), run, options.cwd, started);
      if (!result.ok) return { check, run, unreadable: result.reason };
      output = result.output;
    }
    if (check.coverage !== undefined) {
      const coverage = await readAndParse(check.coverage.parser, reportPath(check.coverage.report), run, options.cwd, started);
      if (!coverage.ok) return { check, run, unreadable: `coverage report: ${coverage.reason}` };
      if (coverage.output.coverage !== undefined) output = { ...output, coverage: coverage.output.coverage };
    }
    return { check, run, output };
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

type ReadResult = { ok: true; output: ParsedOutput } | { ok: false; reason: string };

async function readAndParse(
  parser: Exclude<GateCheckConfig['parser'], undefined | 'declarations'>,
  path: string | undefined,
  run: CheckRun,
  root: string,
  started: number,
): Promise<ReadResult> {
  let text = run.stdout;
  if (path !== undefined) {
    const report = await readReport(path, started);
    if (!report.ok) return report;
    text = report.text;
  }
  const result = TEXT_PARSERS[parser]({ text, stderr: run.stderr, root });
  return result.ok ? result : { ok: false, reason: `${path === undefined ? 'stdout' : path} could not be read as ${parser}: ${result.reason}` };
}

async function readReport(path: string, started: number): Promise<{ ok: true; text: string } | { ok: false; reason: string }> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) return { ok: false, reason: `the report ${path} was not written` };
  // A report left by an earlier run would describe other code; tolerate coarse file-system clocks.
  if (info.mtimeMs < started - 2_000) return { ok: false, reason: `the report ${path} is older than this run (was it written?)` };
  try {
    return { ok: true, text: await readFile(path, 'utf8') };
  } catch (error) {
    return { ok: false, reason: `cannot read the report ${path}: ${errorMessage(error)}` };
  }
}

async function readDeclarations(folder: string, entries: readonly string[] | undefined, started: number): Promise<ReadResult> {
  const info = await stat(folder).catch(() => undefined);
  if (!info?.isDirectory()) return { ok: false, reason: `the declaration folder ${folder} was not written` };
  const files = new Map<string, string>();
  let newest = 0;
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > 20) return;
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory() && entry.name !== 'node_modules') await walk(path, depth + 1);
      else if (entry.isFile() && /\.d\.[cm]?ts$/.test(entry.name)) {
        files.set(relative(folder, path).split(sep).join('/'), await readFile(path, 'utf8'));
        newest = Math.max(newest, (await stat(path)).mtimeMs);
      }
    }
  };
  await walk(folder, 0);
  if (files.size > 0 && newest < started - 2_000) return { ok: false, reason: `the declarations in ${folder} are older than this run (were they written?)` };
  const chosen = entries ?? (files.has('index.d.ts') ? ['index.d.ts'] : []);
  const result = parseDeclarations(files, chosen);
  return result.ok ? result : { ok: false, reason: `${folder}: ${result.reason}` };
}

/** Single-quoted for /bin/sh: the value can never be read as code. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The check's `rerun` template with one test's placeholders filled in. */
function rerunCommand(template: string, test: TestCase): string | undefined {
  if (test.rerun === undefined) return undefined;
  const values: Record<string, string> = { file: test.rerun.file, name: test.rerun.name, pattern: test.rerun.pattern };
  return template.replace(/\{(file|name|pattern)\}/g, (_, key: string) => shellQuote(values[key] ?? ''));
}

/**
 * Runs one failing test alone with the check's `rerun` command and reads it with the same parser.
 * Flaky means: the re-run reports this very test, and it passed.
 */
export async function rerunPassed(check: GateCheckConfig, test: TestCase, options: EvaluateOptions): Promise<boolean> {
  const command = check.rerun === undefined ? undefined : rerunCommand(check.rerun, test);
  if (command === undefined) return false;
  const evaluation = await evaluateCheck({ ...check, command, coverage: undefined }, options);
  // Some runners name a test's file only when it fails (node's TAP), so a file is compared only when both have one.
  const again = evaluation.output?.tests?.find((t) => t.name === test.name && (t.file === undefined || test.file === undefined || t.file === test.file));
  return again?.status === 'passed';
}
