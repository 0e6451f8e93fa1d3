import type { Command, Option } from 'commander';
import { InputError } from '../platform/errors.js';
import type { RegisterCommand } from './io.js';
import { printInputError } from './print-error.js';

interface CommandInfo {
  readonly name: string;
  readonly description: string;
  readonly options: readonly { readonly long: string; readonly description: string }[];
}

function describe(program: Command): CommandInfo[] {
  const optionsOf = (options: readonly Option[]) => options.flatMap((o) => (o.long ? [{ long: o.long, description: o.description }] : []));
  return program.commands.map((c) => ({
    name: c.name(),
    description: c.description(),
    options: [...optionsOf(c.options), { long: '--help', description: 'show help' }],
  }));
}

const quote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

export function bashCompletion(commands: readonly CommandInfo[]): string {
  const cases = commands.map((c) => `    ${c.name}) opts=${quote(c.options.map((o) => o.long).join(' '))} ;;`).join('\n');
  return `# bash completion for tandem (tandem completion bash)
_tandem() {
  local cur=\${COMP_WORDS[COMP_CWORD]}
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W ${quote(`${commands.map((c) => c.name).join(' ')} --help --version`)} -- "$cur") )
    return
  fi
  local opts=''
  case "\${COMP_WORDS[1]}" in
${cases}
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
  else
    COMPREPLY=( $(compgen -f -- "$cur") )
  fi
}
complete -o filenames -F _tandem tandem
`;
}

export function zshCompletion(commands: readonly CommandInfo[]): string {
  const escape = (text: string): string => text.replace(/[[\]:'\\]/g, (ch) => `\\${ch}`);
  const subcommands = commands.map((c) => `    '${c.name}:${escape(c.description)}'`).join('\n');
  const cases = commands
    .map((c) => `      ${c.name}) _arguments ${c.options.map((o) => `'${o.long}[${escape(o.description)}]'`).join(' ')} '*:file:_files' ;;`)
    .join('\n');
  return `#compdef tandem
# zsh completion for tandem (tandem completion zsh)
_tandem() {
  local -a commands
  commands=(
${subcommands}
  )
  if (( CURRENT == 2 )); then
    _describe 'command' commands
    return
  fi
  case "\${words[2]}" in
${cases}
  esac
}
compdef _tandem tandem
`;
}

export function fishCompletion(commands: readonly CommandInfo[]): string {
  const escape = (text: string): string => text.replace(/'/g, "\\'");
  const lines = ['# fish completion for tandem (tandem completion fish)', 'complete -c tandem -f'];
  for (const c of commands) lines.push(`complete -c tandem -n '__fish_use_subcommand' -a ${c.name} -d '${escape(c.description)}'`);
  for (const c of commands) {
    for (const o of c.options)
      lines.push(`complete -c tandem -n '__fish_seen_subcommand_from ${c.name}' -l ${o.long.replace(/^--/, '')} -d '${escape(o.description)}'`);
  }
  return `${lines.join('\n')}\n`;
}

/** `tandem completion bash|zsh|fish`: a completion script for the shell, built from the commands themselves. */
export const registerCompletionCommand: RegisterCommand = (program, io, done) => {
  program
    .command('completion')
    .description('print a shell completion script (bash, zsh or fish)')
    .argument('<shell>', 'bash, zsh or fish')
    .action((shell: string) => {
      const commands = describe(program);
      const scripts: Record<string, (c: readonly CommandInfo[]) => string> = { bash: bashCompletion, zsh: zshCompletion, fish: fishCompletion };
      const make = scripts[shell];
      if (!make)
        return done(
          printInputError(io, new InputError([{ file: 'command line', field: 'shell', message: `unknown shell \`${shell}\` (allowed: bash, zsh, fish)` }])),
        );
      io.stdout.write(make(commands));
      done(0);
    });
};
