import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { configSearchPath, loadConfig } from '../../src/config/load-config.js';
import { tandemBin } from '../helpers/tandem-process.js';

/** `--help` with examples on every command, shell completion, and config discovery (real processes where it matters). */

const run = promisify(execFile);
const tandem = async (args: string[], cwd = process.cwd()): Promise<string> =>
  (await run(process.execPath, [tandemBin, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' } })).stdout;

const commandNames = [
  'run',
  'demo',
  'status',
  'review',
  'resume',
  'doctor',
  'gate',
  'init',
  'route',
  'cost',
  'watch',
  'bot',
  'serve',
  'submit',
  'events',
  'completion',
];

describe('CLI niceties', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  it('every command lists itself in `tandem --help`, and its `--help` ends with examples of it', async () => {
    const top = await tandem(['--help']);
    const listed = top
      .slice(top.indexOf('Commands:'), top.indexOf('Examples:'))
      .split('\n')
      .slice(1)
      .map((l) => /^ {2}([a-z]+)/.exec(l)?.[1])
      .filter((n): n is string => n !== undefined && n !== 'help');
    expect(listed).toEqual(commandNames);
    expect(top).toContain('Examples:\n  $ tandem demo\n');
    for (const name of commandNames) {
      const help = await tandem([name, '--help']);
      const examples = help.slice(help.indexOf('\nExamples:\n'));
      expect(examples.split('\n').filter((l) => l.startsWith(`  $ tandem ${name} `) || l === `  $ tandem ${name}`).length, name).toBeGreaterThan(0);
    }
  }, 90_000);

  it("`completion bash` completes commands and each command's options in a real bash", async () => {
    const script = await tandem(['completion', 'bash']);
    const dir = await mkdtemp(join(tmpdir(), 'tandem-completion-'));
    dirs.push(dir);
    await writeFile(join(dir, 'tandem.bash'), script);
    const complete = async (...words: string[]): Promise<string[]> => {
      const line = `source ${join(dir, 'tandem.bash')}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _tandem; printf '%s\\n' "\${COMPREPLY[@]}"`;
      return (await run('bash', ['-c', line], { cwd: dir })).stdout.split('\n').filter((l) => l !== '');
    };
    expect(await complete('tandem', 're')).toEqual(['review', 'resume']);
    expect(await complete('tandem', 'run', '--re')).toEqual(['--repo', '--resume']);
    expect(await complete('tandem', 'status', '--')).toEqual(expect.arrayContaining(['--json', '--nats', '--state-dir', '--help']));
    const zsh = await tandem(['completion', 'zsh']);
    expect(zsh.split('\n')[0]).toBe('#compdef tandem');
    expect(zsh).toContain("    'run:plan, implement, review and gate tasks");
    const fish = await tandem(['completion', 'fish']);
    expect(fish).toContain("complete -c tandem -n '__fish_seen_subcommand_from run' -l repo -d ");
    await expect(tandem(['completion', 'tcsh'])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('unknown shell `tcsh` (allowed: bash, zsh, fish)') as unknown,
    });
  }, 60_000);

  it('finds tandem.config.yaml from the current folder up to the repository root, then in the user config folder', async () => {
    const root = await mkdtemp(join(tmpdir(), 'tandem-discover-'));
    dirs.push(root);
    const repo = join(root, 'repo');
    const deep = join(repo, 'packages', 'app');
    const xdg = join(root, 'xdg');
    await mkdir(join(repo, '.git'), { recursive: true });
    await mkdir(deep, { recursive: true });
    await mkdir(join(xdg, 'tandem'), { recursive: true });
    const env = { XDG_CONFIG_HOME: xdg, HOME: join(root, 'home') };
    expect(configSearchPath(deep, env)).toEqual([deep, join(repo, 'packages'), repo, join(xdg, 'tandem')].map((d) => join(d, 'tandem.config.yaml')));
    expect(configSearchPath(deep, { HOME: '/home/u' }).at(-1)).toBe('/home/u/.config/tandem/tandem.config.yaml');

    await writeFile(join(xdg, 'tandem', 'tandem.config.yaml'), 'concurrency: 7\n');
    expect(loadConfig({ env, argv: {}, cwd: deep })).toMatchObject({ file: join(xdg, 'tandem', 'tandem.config.yaml'), config: { concurrency: 7 } });
    await writeFile(join(repo, 'tandem.config.yaml'), 'concurrency: 5\n');
    expect(loadConfig({ env, argv: {}, cwd: deep })).toMatchObject({ file: join(repo, 'tandem.config.yaml'), config: { concurrency: 5 } });
    await writeFile(join(deep, 'tandem.config.yaml'), 'concurrency: 3\n');
    expect(loadConfig({ env, argv: {}, cwd: deep }).config.concurrency).toBe(3);
    // Outside a repository only the current folder and the user config folder count.
    const loose = join(root, 'loose', 'inner');
    await mkdir(loose, { recursive: true });
    await writeFile(join(root, 'loose', 'tandem.config.yaml'), 'concurrency: 9\n');
    expect(loadConfig({ env, argv: {}, cwd: loose }).config.concurrency).toBe(7);

    // The real binary reads the repository's config from a subfolder (a bad key there is reported with its path).
    await rm(join(deep, 'tandem.config.yaml'));
    await writeFile(join(repo, 'tandem.config.yaml'), 'concurrency: 5\ncolour: red\n');
    await expect(run(process.execPath, [tandemBin, 'status'], { cwd: deep, env: { ...process.env, ...env } })).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining(`${join(repo, 'tandem.config.yaml')}:2:1: colour: unknown field`) as unknown,
    });
  }, 60_000);
});
