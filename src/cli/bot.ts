import { positiveInt } from './common-options.js';
import type { RegisterCommand } from './io.js';
import { serve, withServeOptions, type ServeFlags } from './watch.js';

/**
 * `tandem bot`: the Telegram bot over a runtime on the state dir. The token comes from
 * $TELEGRAM_BOT_TOKEN (never a flag: flags show up in `ps`); with `--watch <dir>` the same process
 * also runs the watched folder, since only one process may hold the state dir.
 */
export const registerBotCommand: RegisterCommand = (program, io, done) => {
  withServeOptions(program.command('bot').description('serve /task, /status and /review in Telegram and send a notice when a task ends or needs a person'))
    .option('--watch <dir>', 'also run the task files dropped into this folder (see `tandem watch`)')
    .option('--settle-ms <ms>', 'with --watch: how long a file must stay unchanged before it is read (default 500)', positiveInt)
    .action(async (flags: ServeFlags & { watch?: string }) => {
      done(await serve(io, flags, { watchDir: flags.watch, bot: true }));
    });
};
