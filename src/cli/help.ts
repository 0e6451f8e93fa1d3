import type { Command } from 'commander';

/** Examples shown at the end of each command's `--help`. */
const examples: Readonly<Record<string, readonly string[]>> = {
  run: [
    'tandem run tasks.yaml --repo ../my-project',
    'tandem run tasks/ --repo . --runner scripted --script answers.yaml',
    'tandem run tasks.yaml --repo . --json | jq -c \'select(.type == "task.state")\'',
    'tandem run --resume',
  ],
  demo: ['tandem demo', 'tandem demo --dir /tmp/tandem-demo --json'],
  status: ['tandem status', 'tandem status DEMO-2', 'tandem status --json', 'tandem status --nats nats://127.0.0.1:4222'],
  review: ['tandem review', 'tandem review DEMO-2 --approve', 'tandem review DEMO-2 --feedback "use a Map"', 'tandem review DEMO-2 --raise-budget 5'],
  resume: ['tandem resume', 'tandem resume --state-dir .tandem --quiet'],
  doctor: ['tandem doctor', 'tandem doctor --offline --json'],
  gate: ['tandem gate --repo .', 'tandem gate --repo . --base main --json'],
  init: ['tandem init --repo .'],
  route: ['tandem route --explain tasks.yaml', 'tandem route --runner scripted tasks/ --json'],
  cost: ['tandem cost', 'tandem cost --by model --since 2026-11-01', 'tandem cost --task DEMO-2 --json'],
  watch: ['tandem watch tasks/ --repo ../my-project'],
  bot: ['tandem bot --allow-chat 123456789 --watch tasks/ --repo ../my-project   # with TELEGRAM_BOT_TOKEN set'],
  serve: ['tandem serve supervisor --nats nats://127.0.0.1:4222', 'tandem serve all --nats nats://127.0.0.1:4222 --metrics-port 0.0.0.0:9464'],
  submit: ['tandem submit tasks.yaml --repo /srv/repo --nats nats://127.0.0.1:4222'],
  events: ['tandem events --follow --nats nats://127.0.0.1:4222', 'tandem events --follow --task DEMO-2 --json --nats'],
  completion: [
    'tandem completion bash > ~/.local/share/bash-completion/completions/tandem',
    'tandem completion zsh > "${fpath[1]}/_tandem"',
    'tandem completion fish > ~/.config/fish/completions/tandem.fish',
  ],
};

export const programExamples = [
  'tandem demo',
  'tandem run tasks.yaml --repo ../my-project',
  'tandem status',
  'tandem review DEMO-2 --approve',
  'tandem <command> --help',
];

export function examplesText(lines: readonly string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}

/** Adds the examples to every command that has some. */
export function addExamples(program: Command): void {
  for (const command of program.commands) {
    const lines = examples[command.name()];
    if (lines) command.addHelpText('after', examplesText(lines));
  }
}
