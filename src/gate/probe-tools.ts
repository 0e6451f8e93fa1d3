import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { runProcess } from '../platform/process/run-process.js';

const PROBE_TIMEOUT_MS = 60_000;

/** Where and how a probe runs: the repository, and the PATH the checks will see. */
export interface ProbeContext {
  readonly cwd: string;
  readonly env?: Readonly<Record<string, string>> | undefined;
}

export interface ProbeResult {
  readonly ok: boolean;
  /** The probe's first line of output (a version), or its error. */
  readonly detail: string;
}

/** Runs a probe command through the shell, the way the gate runs checks. */
export async function probe(command: string, context: ProbeContext): Promise<ProbeResult> {
  const result = await runProcess({ command, shell: true, cwd: context.cwd, env: { CI: 'true', ...context.env }, timeoutMs: PROBE_TIMEOUT_MS }).catch(
    (error: unknown) => ({
      exitCode: null,
      timedOut: false,
      all: String(error),
    }),
  );
  const lines = result.all
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const ok = result.exitCode === 0 && !result.timedOut;
  return {
    ok,
    detail:
      (ok ? lines[0] : (lines.find((l) => /not found|No module named|canceled|error/i.test(l)) ?? lines[lines.length - 1])) ??
      (result.timedOut ? 'timed out' : `exit ${result.exitCode}`),
  };
}

/** An interpreter the Python checks may run with, and what it lacks. */
export interface PythonChoice {
  readonly python: string;
  /** The wanted modules this interpreter does not have (empty: it has them all). */
  readonly missing: readonly string[];
  /** One line per candidate tried, for `tandem init` to show. */
  readonly tried: readonly string[];
}

const choices = new Map<string, Promise<PythonChoice>>();

/**
 * The Python interpreter that has the project's tools (`modules`, pytest first): the project's own
 * virtualenv first (`.venv/bin/python`, `venv/bin/python`), then `python3` and `python` on PATH,
 * then Debian's `/usr/bin/python3` (a pyenv or venv `python3` earlier on PATH often lacks what the
 * system one has). The first that has every module wins, else the one that lacks fewest.
 * Remembered per repository, PATH and modules for the life of the process.
 */
export function choosePython(context: ProbeContext, modules: readonly string[]): Promise<PythonChoice> {
  const key = [context.cwd, context.env?.PATH ?? process.env.PATH ?? '', ...modules].join('\u0000');
  let choice = choices.get(key);
  if (choice === undefined) {
    choice = findPython(context, modules);
    choices.set(key, choice);
  }
  return choice;
}

/** Prints the modules of argv that cannot be imported; exits 0 when the interpreter runs at all. */
const FIND_MISSING = `import importlib.util, sys; print("missing:" + " ".join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))`;

async function findPython(context: ProbeContext, modules: readonly string[]): Promise<PythonChoice> {
  const candidates: string[] = [];
  for (const venv of ['.venv', 'venv']) {
    if ((await stat(join(context.cwd, venv, 'bin', 'python')).catch(() => undefined)) !== undefined) candidates.push(`${venv}/bin/python`);
  }
  candidates.push('python3', 'python', '/usr/bin/python3');
  const tried: string[] = [];
  let best: PythonChoice | undefined;
  for (const python of candidates) {
    const result = await probe(`${python} -c '${FIND_MISSING}' ${modules.join(' ')}`, context);
    const line = /^missing:(.*)$/.exec(result.detail);
    if (!result.ok || line === null) {
      tried.push(`${python}: cannot run (${result.detail})`);
      continue;
    }
    const missing = (line[1] ?? '').split(' ').filter((m) => m !== '');
    tried.push(`${python}: ${missing.length === 0 ? `has ${modules.join(', ')}` : `lacks ${missing.join(', ')}`}`);
    if (best === undefined || missing.length < best.missing.length) best = { python, missing, tried };
    if (missing.length === 0) break;
  }
  return { python: best?.python ?? 'python3', missing: best?.missing ?? modules, tried };
}

/**
 * The command that shows a check's tools are there without running the check: `--version` of
 * the tool it starts (`npx --no -- X`, `<python> -m X`, `go`, or the first word).
 */
export function probeCommand(command: string): string | undefined {
  const rest = command.replace(/^(\s*[A-Za-z_][A-Za-z0-9_]*=\S*\s+)+/, '').trim();
  const npx = /^npx --no -- (\S+)/.exec(rest);
  if (npx !== null) return `npx --no -- ${npx[1] ?? ''} --version`;
  const module = /^(\S+) -m (\S+)/.exec(rest);
  if (module !== null) return `${module[1] ?? ''} -m ${module[2] ?? ''} --version`;
  if (/^go\s/.test(rest) || rest.startsWith('pkgs=$(go ')) return 'go version';
  if (/^npm\s/.test(rest)) return 'npm --version';
  const python = /^(\S*python3?) -c /.exec(rest);
  if (python !== null) return `${python[1] ?? ''} --version`;
  if (rest.startsWith('sh ')) return undefined;
  const first = /^(\S+)/.exec(rest)?.[1];
  return first === undefined ? undefined : `${first} --version`;
}
